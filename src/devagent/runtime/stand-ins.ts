// Built-in stand-in workloads for docker tasks that give no command: there is no container runtime here, so a
// well-known image is imitated by a tiny node script run with this node binary (process.execPath):
//  - web images (nginx, httpd, caddy, anything with "http"/"web"/"echo"/"whoami" in its name): an HTTP server on
//    the task's first port that answers every request with 200 and logs each request to stdout, access-log style;
//  - any other image: a long-running idle process that logs a start line and, when the task has a port, accepts
//    (and closes) TCP connections on it so tcp checks pass.
// Both exit 0 on SIGTERM/SIGINT, like a well-behaved container.

const webServer = `
const http = require("node:http");
const [port, host, image] = process.argv.slice(1);
const body = "<!DOCTYPE html><html><body><h1>" + image + "</h1><p>stand-in served by the nomad dev agent</p></body></html>\\n";
const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html", "Content-Length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? undefined : body);
  console.log(req.socket.remoteAddress + ' - - [' + new Date().toISOString() + '] "' + req.method + " " + req.url +
    " HTTP/" + req.httpVersion + '" 200 ' + Buffer.byteLength(body) + ' "-" "' + (req.headers["user-agent"] || "-") + '"');
});
server.listen(Number(port) || 0, host, () => console.log("stand-in for " + image + " listening on " + host + ":" + server.address().port));
const stop = () => { console.log("stand-in for " + image + " shutting down"); process.exit(0); };
process.on("SIGTERM", stop); process.on("SIGINT", stop);
`;

const idleProcess = `
const net = require("node:net");
const [port, host, image] = process.argv.slice(1);
console.log("stand-in for " + image + " started (pid " + process.pid + ")");
if (Number(port)) net.createServer((c) => c.end()).listen(Number(port), host);
else setInterval(() => {}, 1 << 30);
const stop = () => { console.log("stand-in for " + image + " shutting down"); process.exit(0); };
process.on("SIGTERM", stop); process.on("SIGINT", stop);
`;

export function isWebImage(image: string): boolean {
  const name = image.split("/").pop() ?? image;
  return /nginx|httpd|http|caddy|traefik|apache|web|echo|whoami/i.test(name);
}

/** argv running the stand-in for `image`, bound to host:port (port 0 = none). */
export function standInArgv(image: string, port: number, host: string): string[] {
  const script = isWebImage(image) ? webServer : idleProcess;
  return [process.execPath, "-e", script, String(port), host, image];
}
