import { describe, expect, it } from 'vitest';
import { renderTemplate } from './template.js';

describe('renderTemplate', () => {
  it('substitutes values through the escaper', () => {
    expect(renderTemplate('a={{a}} b={{ b }}', { values: { a: 'x"y', b: 2 }, escape: (v) => v.replace('"', '&quot;') })).toBe('a=x&quot;y b=2');
  });

  it('keeps or drops sections by flag, without leaving blank lines', () => {
    const template = 'one\n{{#on}}\ntwo {{v}}\n{{/on}}\n{{#off}}\nthree\n{{/off}}\nfour\n';
    expect(renderTemplate(template, { values: { v: 'V' }, flags: { on: true, off: false } })).toBe('one\ntwo V\nfour\n');
  });

  it('supports nested sections', () => {
    const template = '{{#a}}A{{#b}}B{{/b}}{{/a}}.';
    expect(renderTemplate(template, { values: {}, flags: { a: true, b: false } })).toBe('A.');
    expect(renderTemplate(template, { values: {}, flags: { a: false, b: true } })).toBe('.');
  });

  it('does not need values for placeholders inside dropped sections', () => {
    expect(renderTemplate('{{#x}}{{secret}}{{/x}}ok', { values: {}, flags: { x: false } })).toBe('ok');
  });

  it('fails on missing values, unknown flags and unbalanced sections', () => {
    expect(() => renderTemplate('{{a}} {{b}}', { values: {} })).toThrow(/without a value: a, b/);
    expect(() => renderTemplate('{{#x}}y{{/x}}', { values: {} })).toThrow(/\{\{#x\}\} has no flag value/);
    expect(() => renderTemplate('{{#x}}y', { values: {}, flags: { x: true } })).toThrow(/never closed/);
    expect(() => renderTemplate('{{#x}}y{{/z}}', { values: {}, flags: { x: true } })).toThrow(/\{\{\/z\}\} closes \{\{#x\}\}/);
    expect(() => renderTemplate('{{ not valid }}', { values: {} })).toThrow(/malformed template tag/);
  });
});
