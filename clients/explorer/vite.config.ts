// The explorer is a static app: `vite build` writes dist/, which serve.mjs serves.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096, target: 'es2022' },
});
