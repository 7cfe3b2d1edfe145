#!/usr/bin/env node
import { loadConfig } from './config/config.js';
import { runService } from '@alloquy/service-kit/process';
import { startControlServer } from './server.js';

/** The control server process: `node services/control/dist/main.js`, configured by env and file. */
runService({ name: 'control', loadConfig, start: startControlServer });
