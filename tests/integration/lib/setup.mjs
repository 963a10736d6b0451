// Loaded before every test file: `node --import ./lib/setup.mjs --test`.
//
// Makes `localhost` and `*.localhost` resolve to 127.0.0.1 for every socket the process opens and
// refuses to resolve anything else, so no test can reach beyond this machine. TLS trust is NOT
// touched here: every client gets the server's CA explicitly (see server.mjs), and certificate
// verification stays on.
import { installLoopbackDns } from "./loopback.mjs";

installLoopbackDns();
