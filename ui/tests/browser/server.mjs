// Serves the built UI (`dist/`) with Vite's preview server for the browser tests.
import { preview } from "vite";

export async function startPreview() {
  const server = await preview({ preview: { host: "127.0.0.1", port: 0, strictPort: false }, logLevel: "error" });
  const address = server.httpServer.address();
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}
