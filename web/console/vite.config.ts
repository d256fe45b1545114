import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev -w web/console`: the console on Vite's dev server, the API proxied to the edge (HUB_BASE_URL,
// default the local stack's). `npm run build`: static files in dist/, which the edge serves at /console/.
const edge = process.env.HUB_BASE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: { '/v1': edge, '/v2': edge, '/v3': edge },
  },
});
