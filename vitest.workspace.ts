export default ['services/*', 'scripts/stack'];
