import { defineConfig } from "vite";

// The dashboard is served by the Go binary at /dashboard with its files
// under /assets/ (api/dashboard.go). No inline scripts: the API's Content
// Security Policy allows scripts from 'self' only.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/auth": "http://127.0.0.1:8080",
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
