// openapi.js - docs/openapi.yaml as the tests read it: its operations, the
// programs' route tables parsed from the C sources, the comparison of the
// two, and a checker of answers (status, media type, JSON schema) against
// the description. Used by tests/e2e/test_openapi.js (against the running
// programs) and, as a program, by tests/static/test_openapi_lint.sh:
//
//   NODE_PATH=.tools/node_modules node tests/lib/openapi.js routes
//     prints one TAP line per route and per operation ("documented" and
//     "routed") and the closing "N passed, N failed".
//
// Route tables: the `{"METHOD", "/pattern", handler, ...}` rows of gw_routes[]
// in services/gateway/server.c and st_routes[] in services/settlement/service.c,
// plus the built-in rows of services/common/http.c (/healthz, /metrics),
// which both programs serve. A pattern segment "{name}" matches one path
// segment, a last segment "{name*}" one or more (http.h); the first row
// whose method and pattern match serves a request, as in http.c.
//
// The description: an operation is served by the `x-service` of the
// servers of its path (or the top-level servers). A spec path is routed
// when some row of each of those services matches it with its parameters
// taken as single segments. The schema checker is ajv (JSON Schema 2020-12,
// OpenAPI 3.1's dialect) with the formats the description uses: uuid
// (lowercase), eip55-address (checked with ethers.getAddress) and date-time
// (RFC 3339 UTC with seconds).
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const Ajv2020 = require('ajv/dist/2020');
const ethers = require('ethers');

const ROOT = path.resolve(__dirname, '..', '..');
const SPEC_FILE = path.join(ROOT, 'docs', 'openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const ROUTE_SOURCES = [
  { service: 'gateway', file: 'services/gateway/server.c', table: 'gw_routes' },
  { service: 'settlement', file: 'services/settlement/service.c', table: 'st_routes' },
];
const BUILTIN_SOURCE = { file: 'services/common/http.c', marker: 'http_builtin_' };

// loadSpec(file) -> the parsed description.
function loadSpec(file = SPEC_FILE) {
  return YAML.parse(fs.readFileSync(file, 'utf8'));
}

// servicesOf(servers) -> the x-service names of a servers list.
function servicesOf(servers) {
  return (servers || []).map((s) => s['x-service']).filter(Boolean);
}

// operations(spec) -> [{key: 'GET /path', method: 'GET', path, op, pathItem, services}]
function operations(spec) {
  const out = [];
  for (const [p, item] of Object.entries(spec.paths || {})) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const op = item[m];
      const services = servicesOf(op.servers || item.servers || spec.servers);
      out.push({ key: `${m.toUpperCase()} ${p}`, method: m.toUpperCase(), path: p, op, pathItem: item, services });
    }
  }
  return out;
}

// routeRows(text, table) -> [{method, pattern}] of `static const struct
// http_route <table>[] = { ... };` in text, in table order.
function routeRows(text, table) {
  const start = text.search(new RegExp(`\\b${table}\\[\\]\\s*=\\s*\\{`));
  if (start < 0) throw new Error(`no route table ${table}[]`);
  const end = text.indexOf('};', start);
  const body = text.slice(start, end);
  return [...body.matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,/g)].map((m) => ({ method: m[1], pattern: m[2] }));
}

// routeTables(root) -> [{service, method, pattern, source}]: each program's
// built-in rows first (as http.c puts them), then its table.
function routeTables(root = ROOT) {
  const http = fs.readFileSync(path.join(root, BUILTIN_SOURCE.file), 'utf8');
  const builtins = [...http.matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*http_builtin_[a-z_]+\s*,/g)]
    .map((m) => ({ method: m[1], pattern: m[2] }));
  if (builtins.length === 0) throw new Error(`no built-in routes in ${BUILTIN_SOURCE.file}`);
  const out = [];
  for (const src of ROUTE_SOURCES) {
    const rows = routeRows(fs.readFileSync(path.join(root, src.file), 'utf8'), src.table);
    for (const r of builtins) out.push({ service: src.service, ...r, source: BUILTIN_SOURCE.file });
    for (const r of rows) out.push({ service: src.service, ...r, source: src.file });
  }
  return out;
}

// patternMatches(pattern, segments) -> whether a route pattern matches a
// path split into segments (http.h semantics).
function patternMatches(pattern, segments) {
  const ps = pattern === '/' ? [] : pattern.slice(1).split('/');
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i];
    if (/^\{[a-z_][a-z0-9_]*\*\}$/.test(p)) return i === ps.length - 1 && segments.length > i;
    if (i >= segments.length) return false;
    if (/^\{[a-z_][a-z0-9_]*\}$/.test(p)) continue;
    if (p !== segments[i]) return false;
  }
  return ps.length === segments.length;
}

// splitPath('/a/b') -> ['a', 'b']; '/' -> [].
function splitPath(p) {
  return p === '/' ? [] : p.slice(1).split('/');
}

// routeFor(routes, service, method, specPath) -> the row that serves the
// spec path (its parameters as single segments), or null.
function routeFor(routes, service, method, specPath) {
  const segs = splitPath(specPath);
  return routes.find((r) => r.service === service && r.method === method && patternMatches(r.pattern, segs)) || null;
}

// compareRoutes(spec, routes) -> {unrouted: [...], undocumented: [...], served: Map}:
// operations no row of their services serves, and rows no operation reaches.
function compareRoutes(spec, routes) {
  const reached = new Set();
  const unrouted = [];
  for (const o of operations(spec)) {
    for (const service of o.services) {
      const r = routeFor(routes, service, o.method, o.path);
      if (r) reached.add(`${r.service} ${r.method} ${r.pattern}`);
      else unrouted.push(`${o.key} [${service}]`);
    }
  }
  const undocumented = routes.filter((r) => !reached.has(`${r.service} ${r.method} ${r.pattern}`))
    .map((r) => `${r.method} ${r.pattern} [${r.service}, ${r.source}]`);
  return { unrouted, undocumented };
}

// ---- answers against the description -------------------------------------------------
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DATE_TIME_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;

function eip55(text) {
  try {
    return ethers.getAddress(text) === text;
  } catch (e) {
    return false;
  }
}

// pointerEscape('application/json') -> 'application~1json' (RFC 6901).
const pointerEscape = (s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1');

// resolve(spec, obj) -> obj, or what its local $ref points to (repeatedly),
// with the pointer of the result: [object, pointer].
function resolve(spec, obj, pointer) {
  let o = obj;
  let p = pointer;
  for (let i = 0; o && o.$ref && i < 16; i++) {
    if (!o.$ref.startsWith('#/')) throw new Error(`non-local $ref ${o.$ref}`);
    p = o.$ref.slice(1);
    o = o.$ref.slice(2).split('/').reduce((x, k) => (x ? x[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), spec);
  }
  return [o, p];
}

// checker(spec) -> {response(o, status, contentType, text), requestBody(o, body),
//                   parameter(o, name, value), schema(pointer, value)}
// Each returns a list of problems (empty: conforms).
function checker(spec) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  ajv.addFormat('uuid', UUID_RE);
  ajv.addFormat('date-time', DATE_TIME_RE);
  ajv.addFormat('eip55-address', { type: 'string', validate: eip55 });
  ajv.addSchema(spec, 'openapi');
  const compiled = new Map();
  const validate = (pointer, value) => {
    if (!compiled.has(pointer)) compiled.set(pointer, ajv.compile({ $ref: `openapi#${pointer}` }));
    const v = compiled.get(pointer);
    if (v(value)) return [];
    return v.errors.map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
  };
  const opPointer = (o) => `/paths/${pointerEscape(o.path)}/${o.method.toLowerCase()}`;

  function response(o, status, contentType, text) {
    const responses = o.op.responses || {};
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k] !== undefined);
    if (key === undefined) return [`status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
    const [resp, respPointer] = resolve(spec, responses[key], `${opPointer(o)}/responses/${key}`);
    const content = resp.content || {};
    const type = (contentType || '').split(';')[0].trim().toLowerCase();
    if (Object.keys(content).length === 0) {
      return text.length === 0 ? [] : [`status ${status} documents no body, got ${text.length} bytes of '${type}'`];
    }
    if (!content[type]) return [`status ${status}: media type '${type}' is not documented (${Object.keys(content).join(', ')})`];
    if (!/json$/.test(type)) return [];
    let json;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return [`status ${status}: '${type}' body is not JSON: ${text.slice(0, 200)}`];
    }
    return validate(`${respPointer}/content/${pointerEscape(type)}/schema`, json).map((m) => `status ${status} body: ${m}`);
  }

  function requestBody(o, body) {
    const rb = o.op.requestBody;
    if (!rb) return ['no request body is documented'];
    const [r, p] = resolve(spec, rb, `${opPointer(o)}/requestBody`);
    if (!r.content['application/json']) return ['no JSON request body is documented'];
    return validate(`${p}/content/application~1json/schema`, body).map((m) => `request body: ${m}`);
  }

  function parameter(o, name, value) {
    const pathPtr = `/paths/${pointerEscape(o.path)}`;
    const params = [
      ...(o.pathItem.parameters || []).map((x, i) => [x, `${pathPtr}/parameters/${i}`]),
      ...(o.op.parameters || []).map((x, i) => [x, `${opPointer(o)}/parameters/${i}`]),
    ];
    for (const [raw, ptr] of params) {
      const [prm, p] = resolve(spec, raw, ptr);
      if (prm.name === name) return validate(`${p}/schema`, value).map((m) => `parameter ${name}: ${m}`);
    }
    return [`parameter ${name} is not documented`];
  }

  // schema(pointer, value): value against the schema at a pointer of the description.
  const schema = (pointer, value) => validate(pointer, value);

  return { response, requestBody, parameter, schema };
}

// ---- as a program: the route comparison, for the static tests ----------------------------
function mainRoutes() {
  const tap = require('./tap.js');
  let spec;
  let routes;
  try {
    spec = loadSpec();
    routes = routeTables();
  } catch (e) {
    tap.ok(false, 'docs/openapi.yaml and the route tables load', e.message);
    tap.finish();
    return;
  }
  tap.ok(routes.length > 0 && operations(spec).length > 0,
    `docs/openapi.yaml has ${operations(spec).length} operations; the route tables ${routes.length} rows`);
  const { unrouted, undocumented } = compareRoutes(spec, routes);
  tap.ok(undocumented.length === 0, 'every route of the programs\' route tables is documented in docs/openapi.yaml',
    `undocumented: ${undocumented.join('; ')}`);
  tap.ok(unrouted.length === 0, 'every operation of docs/openapi.yaml is in its programs\' route tables',
    `not routed: ${unrouted.join('; ')}`);
  const badTags = operations(spec).filter((o) => {
    const tags = [...(o.op.tags || [])].sort().join(',');
    return o.services.length === 0 || tags !== [...o.services].sort().join(',');
  }).map((o) => `${o.key}: tags ${JSON.stringify(o.op.tags)}, servers ${JSON.stringify(o.services)}`);
  tap.ok(badTags.length === 0, 'every operation is tagged with exactly the services of its servers', badTags.join('; '));
  tap.finish();
}

if (require.main === module) {
  if (process.argv[2] === 'routes') mainRoutes();
  else {
    console.error('usage: node tests/lib/openapi.js routes');
    process.exit(2);
  }
}

module.exports = {
  SPEC_FILE, loadSpec, operations, routeTables, routeFor, patternMatches, splitPath, compareRoutes, checker,
};
