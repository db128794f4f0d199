// The web console's build: a static page and hashed bundles in dist/console, served by the gateway at / and
// /console/ (src/server/console-files.ts). Nothing is inlined (the page's Content-Security-Policy allows scripts and
// styles from its own origin only), and nothing comes from a CDN.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/console/",
  logLevel: "warn",
  // In this repository @agentnet/client and @agentnet/gen resolve to their sources (no build of theirs first).
  resolve: { conditions: ["@agentnet/source", "browser", "module", "import", "default"] },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
  },
});
