// Drives SMART's client-js (fhirclient, from the npm registry) through a standalone launch against an Igia SMART
// authorization server, as a Node app would use it, and plays the browser's part over HTTP (cookies, redirects, the
// login form, the patient picker). Prints one JSON line with what the app saw; exits non-zero on any failure.
//   node standalone.mjs <fhirBase> <port> <clientId> <user> <password>
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const smart = require("fhirclient");

const [fhirBase, port, clientId, user, password] = process.argv.slice(2);
const appBase = `http://127.0.0.1:${port}`;
const session = {}; // fhirclient's ServerStorage keeps its state on request.session
let result;

const server = http.createServer(async (req, res) => {
  req.session = session;
  try {
    const url = new URL(req.url, appBase);
    if (url.pathname === "/launch") {
      await smart(req, res).authorize({
        iss: fhirBase,
        clientId,
        scope: "openid fhirUser launch/patient patient/*.rs offline_access",
        redirectUri: "/callback",
        pkceMode: "required",
      });
    } else if (url.pathname === "/callback") {
      const client = await smart(req, res).ready();
      const patient = await client.request(`Patient/${client.patient.id}`);
      const observations = await client.request(`Observation?patient=${client.patient.id}`);
      result = {
        patient: client.patient.id,
        family: patient.name?.[0]?.family,
        observations: (observations.entry ?? []).length,
        scope: client.state.tokenResponse.scope,
        needPatientBanner: client.state.tokenResponse.need_patient_banner,
        hasIdToken: !!client.state.tokenResponse.id_token,
        fhirUser: client.getFhirUser(),
        hasRefreshToken: !!client.state.tokenResponse.refresh_token,
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
    } else {
      res.writeHead(404);
      res.end();
    }
  } catch (e) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e && e.stack || e));
  }
});

// ---- the browser: a cookie jar per origin, manual redirects, forms --------------------------------------------
const jars = new Map();
function cookieHeader(url) {
  const jar = jars.get(new URL(url).origin) ?? new Map();
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}
function keepCookies(url, response) {
  const origin = new URL(url).origin;
  const jar = jars.get(origin) ?? new Map();
  for (const c of response.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    jar.set(pair.slice(0, i).trim(), pair.slice(i + 1));
  }
  jars.set(origin, jar);
}
async function go(url, init = {}) {
  const response = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers ?? {}), cookie: cookieHeader(url) } });
  keepCookies(url, response);
  return response;
}
const decode = (s) => s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x2B;/g, "+").replace(/&#x2F;/g, "/").replace(/&#x3D;/g, "=").replace(/&#x3F;/g, "?").replace(/&#x26;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
const form = (o) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(o).toString() });

async function browse(start) {
  let url = start;
  let response = await go(url);
  const visited = [];
  for (let i = 0; i < 25; i++) {
    visited.push(new URL(url).pathname);
    const location = response.headers.get("location");
    const body = location ? "" : await response.text();
    if (location) {
      url = new URL(location, url).toString();
      response = await go(url);
    } else if (new URL(url).pathname === "/smart/login" && response.status === 200) {
      const returnUrl = decode(/name="returnUrl" value="([^"]*)"/.exec(body)[1]);
      response = await go(url, form({ username: user, password, returnUrl }));
    } else if (new URL(url).pathname === "/smart/patient-picker" && response.status === 200) {
      const returnUrl = decode(/name="returnUrl" value="([^"]*)"/.exec(body)[1]);
      const patient = /data-patient="([^"]+)"/.exec(body)[1];
      response = await go(url, form({ patient, returnUrl }));
    } else if (/<form method="post" action="([^"]+)">/.test(body) && body.includes("<noscript>")) {
      const action = decode(/<form method="post" action="([^"]+)">/.exec(body)[1]);
      const fields = Object.fromEntries([...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(m => [decode(m[1]), decode(m[2])]));
      url = new URL(action, url).toString();
      response = await go(url, form(fields));
    } else {
      return { status: response.status, url, body, visited };
    }
  }
  throw new Error("too many steps: " + visited.join(" -> "));
}

server.listen(Number(port), "127.0.0.1", async () => {
  try {
    const end = await browse(`${appBase}/launch`);
    if (end.status !== 200 || !result) {
      console.error(`launch did not complete: HTTP ${end.status} at ${end.url} after ${end.visited.join(" -> ")}\n${end.body}`);
      process.exitCode = 1;
    } else {
      console.log(JSON.stringify({ ...result, visited: end.visited }));
    }
  } catch (e) {
    console.error(String(e && e.stack || e));
    process.exitCode = 1;
  } finally {
    server.close();
  }
});
