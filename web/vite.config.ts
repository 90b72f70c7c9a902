// vite.config.ts: two pages, the player app (index.html, served at /) and the back office
// (admin/index.html, served at /admin), built into dist/ for `pitboss serve` (docs/web.md).
// `npx vite` serves them for development and proxies the API to a running pitboss.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const api = process.env.PITBOSS_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    rollupOptions: {
      input: {
        player: resolve(import.meta.dirname, "index.html"),
        admin: resolve(import.meta.dirname, "admin/index.html"),
      },
    },
  },
  server: {
    proxy: { "/api": { target: api, ws: true } },
  },
});
