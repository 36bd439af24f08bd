// A SMART on FHIR authorization server for the Igia.Smart tests: oidc-provider (a certified OpenID Connect provider)
// configured as a SMART server, started by the test fixture on 127.0.0.1.
//
//   node server.mjs <config.json>
//
// The config (written by the fixture) holds the FHIR base, the registered clients (with the public JWKs of the
// asymmetric ones) and, optionally, a TLS certificate for a second, HTTPS provider that stands in for an MSAL authority.
// When listening, the script prints one line to stdout:  READY {"issuer": "...", "entraIssuer": "..."}
//
// What makes it a SMART server (on top of oidc-provider's OAuth 2.0 / OIDC core):
//   - GET /smart-configuration: the .well-known/smart-configuration document (the FHIR test host serves it at its base)
//   - PKCE (S256 only) required for every client; client_secret_basic and private_key_jwt (RS384, ES384) accepted;
//     client_credentials for Backend Services, with jti replay detection of client assertions (oidc-provider's own)
//   - the authorize request must carry aud = the FHIR base; an EHR launch's `launch` must be one the "EHR" registered
//     (POST /test/launch); offline_access/online_access do not need prompt=consent (SMART apps never send it)
//   - the token response carries the launch context: patient, encounter, fhirContext, need_patient_banner,
//     smart_style_url, intent, tenant; the id_token carries fhirUser
//   - login/consent interactions are plain HTML forms (no JavaScript) that an HTTP client can fill in headlessly
//
// Test-only controls (loopback only, no auth): POST /test/launch, GET /test/requests, POST /test/revoke.
// "Quirks" picked on the login form make a single flow misbehave (expired id_token, wrong token_type, …) so that the
// client's checks can be exercised against this real server.

import { constants, createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { parse as parseQuery } from 'node:querystring';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const fhirBase = config.fhirBase;

// ---- keys ---------------------------------------------------------------------------------------

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

const opKey = rsaJwk('op-key-1');
const rogueKey = rsaJwk('rogue-key'); // never published: signs the "unknown key" id_tokens

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function signJwt(header, payload, jwk) {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = sign('sha256', Buffer.from(input), createPrivateKey({ key: jwk, format: 'jwk' }));
  return `${input}.${signature.toString('base64url')}`;
}

function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

// ---- state of the "EHR" -------------------------------------------------------------------------

const launches = new Map(); // launch id -> launch context registered by the EHR
const grants = new Map(); // grant id -> { context, quirk }
const requests = []; // every authorize and token request, as received (for the conformance checks)

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = body;
}

// ---- the SMART provider -------------------------------------------------------------------------

function smartProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: { keys: [opKey] },
    cookies: { keys: ['igia-smart-tests-cookie-key'], long: { httpOnly: true, sameSite: 'none' } },
    enableHttpPostMethods: true, // SMART's authorize-post
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name', 'fhirUser'] },
    // oidc-provider keeps only scopes it knows (without resource indicators), so the SMART scopes the tests use are listed.
    scopes: smartScopes,
    conformIdTokenClaims: false,
    extraParams: ['launch', 'aud'],
    pkce: { required: () => true },
    clientAuthMethods: ['none', 'client_secret_basic', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS384', 'ES384'],
      idTokenSigningAlgValues: ['RS256'],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
    },
    routes: { authorization: '/auth', token: '/token', jwks: '/jwks', introspection: '/introspect', revocation: '/revoke' },
    ttl: { AccessToken: 3600, AuthorizationCode: 120, IdToken: 3600, RefreshToken: 86400, ClientCredentials: 600, Interaction: 600, Session: 3600, Grant: 86400 },
    issueRefreshToken: async (ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    rotateRefreshToken: true,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: `Dr ${sub}`, fhirUser: `${fhirBase}/Practitioner/${sub}` }),
    }),
    renderError: async (ctx, out) => json(ctx, ctx.status || 400, out),
  });
  provider.proxy = false;
  return provider;
}

const smartScopes = [
  'openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'launch/encounter',
  'patient/*.rs', 'patient/*.read', 'patient/*.cruds', 'patient/Patient.rs', 'patient/Observation.rs', 'patient/Observation.read',
  'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
  'user/*.rs', 'user/*.read', 'user/Patient.rs', 'system/*.rs', 'system/*.read', 'system/Patient.rs', 'system/Observation.rs',
];

const smartCapabilities = [
  'launch-ehr', 'launch-standalone', 'authorize-post',
  'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric',
  'sso-openid-connect', 'context-ehr-patient', 'context-ehr-encounter',
  'context-standalone-patient', 'context-standalone-encounter', 'context-banner', 'context-style',
  'permission-offline', 'permission-online', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2',
];

function smartConfiguration(issuer) {
  return {
    issuer,
    jwks_uri: `${issuer}/jwks`,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    scopes_supported: smartScopes,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: smartCapabilities,
  };
}

function forgeIdToken(idToken, quirk) {
  const { header, payload } = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  switch (quirk) {
    case 'id-token-expired':
      return signJwt(header, { ...payload, iat: now - 7200, exp: now - 3600 }, opKey);
    case 'id-token-wrong-aud':
      return signJwt(header, { ...payload, aud: 'some-other-client' }, opKey);
    case 'id-token-wrong-iss':
      return signJwt(header, { ...payload, iss: 'https://rogue.example.org' }, opKey);
    case 'id-token-alg-none':
      return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
    case 'id-token-unknown-key':
      return signJwt({ ...header, kid: rogueKey.kid }, payload, rogueKey);
    case 'id-token-bad-signature':
      return signJwt(header, payload, rogueKey); // the published kid, signed by another key
    case 'id-token-wrong-nonce':
      return signJwt(header, { ...payload, nonce: 'not-the-nonce' }, opKey);
    default:
      return idToken;
  }
}

function applyQuirk(body, quirk, grantType) {
  switch (quirk) {
    case 'no-access-token':
      delete body.access_token;
      break;
    case 'token-type-mac':
      body.token_type = 'MAC';
      break;
    case 'no-id-token':
      delete body.id_token;
      break;
    case 'no-refresh-token':
      delete body.refresh_token;
      break;
    case 'refresh-drops-offline':
      if (grantType === 'refresh_token' && body.scope) {
        body.scope = body.scope.split(' ').filter((s) => s !== 'offline_access' && s !== 'online_access').join(' ');
      }
      break;
    default:
      if (quirk?.startsWith('id-token-') && body.id_token && grantType === 'authorization_code') {
        body.id_token = forgeIdToken(body.id_token, quirk);
      }
  }
}

function interactionPage(uid, details) {
  const params = details.params;
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign in to the test EHR</title></head><body>
<h1>Sign in</h1><p>Client: ${String(params.client_id).replace(/[<>&"]/g, '')}</p>
<form method="post" action="/interaction/${uid}/login">
<input type="text" name="login" value="">
<input type="text" name="patient" value="">
<input type="text" name="encounter" value="">
<input type="text" name="quirk" value="">
<input type="hidden" name="decision" value="approve">
<button type="submit">Sign in and allow</button>
</form></body></html>`;
}

function use(provider, issuer) {
  // Records authorize and token requests as received; lets offline_access/online_access through without prompt=consent.
  provider.use(async (ctx, next) => {
    const route = ctx.path === '/auth' ? 'auth' : ctx.path === '/token' ? 'token' : null;
    if (route && (route === 'auth' || ctx.method === 'POST')) {
      let params = { ...ctx.query };
      if (ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded')) {
        params = parseQuery(await readBody(ctx.req));
        ctx.request.body = { ...params };
      }

      requests.push({
        route,
        method: ctx.method,
        params: { ...params },
        authorization: ctx.get('authorization') || null,
        contentType: ctx.get('content-type') || null,
        at: Date.now(),
      });

      if (route === 'auth') {
        const scopes = String(params.scope || '').split(' ');
        if ((scopes.includes('offline_access') || scopes.includes('online_access')) && !params.prompt) {
          if (ctx.method === 'POST') ctx.request.body.prompt = 'consent';
          else ctx.query = { ...ctx.query, prompt: 'consent' };
        }

        if (params.aud !== fhirBase) {
          return json(ctx, 400, { error: 'invalid_request', error_description: 'aud must be the FHIR base URL' });
        }

        if (scopes.includes('launch') && !launches.has(params.launch)) {
          return json(ctx, 400, { error: 'invalid_request', error_description: 'unknown launch' });
        }
      }
    }

    await next();

    if (route === 'token' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object' && ctx.body.access_token) {
      const grantType = ctx.oidc?.params?.grant_type;
      const grantId = ctx.oidc?.entities?.AuthorizationCode?.grantId ?? ctx.oidc?.entities?.RefreshToken?.grantId;
      const saved = grantId ? grants.get(grantId) : undefined;
      if (saved) {
        Object.assign(ctx.body, saved.context);
        applyQuirk(ctx.body, saved.quirk, grantType);
      }
    }
  });

  // The "EHR": test controls, the SMART configuration, and the login/consent interaction.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/smart-configuration' && ctx.method === 'GET') {
      return json(ctx, 200, smartConfiguration(issuer));
    }

    if (ctx.path === '/test/launch' && ctx.method === 'POST') {
      const context = JSON.parse(await readBody(ctx.req) || '{}');
      const id = randomUUID();
      launches.set(id, context);
      return json(ctx, 200, { launch: id });
    }

    if (ctx.path === '/test/requests' && ctx.method === 'GET') {
      return json(ctx, 200, requests);
    }

    if (ctx.path === '/test/revoke' && ctx.method === 'POST') {
      const { token } = JSON.parse(await readBody(ctx.req) || '{}');
      const accessToken = (await provider.AccessToken.find(token)) ?? (await provider.ClientCredentials.find(token));
      if (accessToken) await accessToken.destroy();
      return json(ctx, 200, { revoked: Boolean(accessToken) });
    }

    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (match) {
      const [, uid, login] = match;
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) return json(ctx, 400, { error: 'interaction mismatch' });
      if (!login && ctx.method === 'GET') {
        ctx.type = 'text/html';
        ctx.body = interactionPage(uid, details);
        return undefined;
      }

      if (login && ctx.method === 'POST') {
        const form = parseQuery(await readBody(ctx.req));
        if (form.decision === 'deny') {
          await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'The user denied access.' }, { mergeWithLastSubmission: false });
          ctx.respond = false;
          return undefined;
        }

        const params = details.params;
        const accountId = form.login || 'alice';
        const scopes = String(params.scope || '').split(' ');
        const grant = new provider.Grant({ accountId, clientId: params.client_id });
        grant.addOIDCScope(params.scope);
        const grantId = await grant.save();

        let context = {};
        if (params.launch) {
          context = { ...launches.get(params.launch) };
        } else {
          if (scopes.includes('launch/patient')) {
            context.patient = form.patient || 'smart-1';
            context.need_patient_banner = true;
          }
          if (scopes.includes('launch/encounter') && form.encounter) context.encounter = form.encounter;
          context.smart_style_url = `${issuer}/smart-style.json`;
        }

        grants.set(grantId, { context, quirk: form.quirk || null });
        await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
        ctx.respond = false;
        return undefined;
      }

      return json(ctx, 405, { error: 'method not allowed' });
    }

    return next();
  });
}

// ---- the Entra stand-in (HTTPS, for MSAL) -------------------------------------------------------

function entraProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: config.entra.clients,
    jwks: { keys: [rsaJwk('entra-key-1')] },
    cookies: { keys: ['igia-smart-tests-entra-key'] },
    clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'PS256'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: false },
    },
    ttl: { ClientCredentials: 3600 },
    renderError: async (ctx, out) => json(ctx, ctx.status || 400, out),
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const params = parseQuery(await readBody(ctx.req));
      requests.push({ route: 'entra-token', method: 'POST', params: { ...params }, authorization: ctx.get('authorization') || null, at: Date.now() });
      ctx.request.body = normalizeMsalAssertion(params, issuer);
    }
    return next();
  });
  return provider;
}

// MSAL writes the exp/nbf of its certificate assertions as JSON strings, which Entra ID accepts and oidc-provider (rightly,
// per RFC 7519) does not. The stand-in therefore checks MSAL's assertion itself — signed with the registered certificate
// (x5t), aud = token endpoint, iss = sub = client_id, not expired — and hands oidc-provider the same claims with numeric
// times, signed with the same certificate key. An assertion that fails these checks is passed on untouched (and refused).
function normalizeMsalAssertion(params, issuer) {
  const msal = config.entra.msalCertificate;
  if (!msal || params.client_id !== msal.clientId || !params.client_assertion) return params;
  const [h, p, signature] = params.client_assertion.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  const certificate = new X509Certificate(msal.certPem);
  const x5t = createHash('sha1').update(certificate.raw).digest('base64url');
  const x5tS256 = createHash('sha256').update(certificate.raw).digest('base64url');
  const padding = header.alg === 'PS256' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : {};
  const signed = verify('sha256', Buffer.from(`${h}.${p}`), { key: certificate.publicKey, ...padding }, Buffer.from(signature, 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  const valid = signed && (header.x5t === x5t || header['x5t#S256'] === x5tS256)
    && payload.aud === `${issuer}/token` && payload.iss === msal.clientId && payload.sub === msal.clientId
    && Number(payload.exp) > now && typeof payload.jti === 'string';
  if (!valid) return params;
  const times = Object.fromEntries(['exp', 'nbf', 'iat'].filter((c) => payload[c] !== undefined).map((c) => [c, Number(payload[c])]));
  const key = createPrivateKey(msal.keyPem).export({ format: 'jwk' });
  return { ...params, client_assertion: signJwt({ alg: 'RS256', typ: 'JWT' }, { ...payload, ...times }, key) };
}

// ---- start --------------------------------------------------------------------------------------

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

const httpServer = createHttpServer();
const port = await listen(httpServer);
const issuer = `http://127.0.0.1:${port}`;
const provider = smartProvider(issuer);
use(provider, issuer);
httpServer.on('request', provider.callback());

let entraIssuer = null;
if (config.entra) {
  const httpsServer = createHttpsServer({ cert: config.entra.certPem, key: config.entra.keyPem });
  const httpsPort = await listen(httpsServer);
  entraIssuer = `https://127.0.0.1:${httpsPort}`;
  httpsServer.on('request', entraProvider(entraIssuer).callback());
}

process.stdout.write(`READY ${JSON.stringify({ issuer, entraIssuer })}\n`);

process.stdin.on('end', () => process.exit(0)); // the fixture closes stdin to stop the server
process.stdin.resume();
