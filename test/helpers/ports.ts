// Hand-made stage contexts in tests bind their ports like the library does.
export { portsFor } from '../../src/run/ports.ts';
