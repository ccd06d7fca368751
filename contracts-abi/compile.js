#!/usr/bin/env node
// compile.js - compile the Solidity sources in contracts-abi/src with the pinned
// solc-js and write deterministic ABI+bytecode artifacts next to this file.
//
//   node contracts-abi/compile.js           write contracts-abi/<Name>.json
//   node contracts-abi/compile.js --check   compile in memory; exit 1 if the
//                                           committed artifacts differ
//
// Usually run through contracts-abi/compile.sh, which sets NODE_PATH to the
// pinned tools dir (.tools/node_modules). Determinism: source unit names are
// repo-relative ("contracts-abi/src/X.sol", "@openzeppelin/contracts/..."), the
// compiler and OpenZeppelin versions are pinned and checked, and every JSON
// object is written with sorted keys (the artifact's top level in a fixed order).
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const TOOLS = path.join(ROOT, '.tools', 'node_modules');
const SOLC_VERSION = '0.8.28';
const OZ_VERSION = '5.4.0';
// [source unit, contract name, artifact path]. The test actors are hostile or
// unusual counterparties used only by tests/integration.
const TEST_ACTORS = 'contracts-abi/src/test/TestActors.sol';
const CONTRACTS = [
  ['contracts-abi/src/SettlementVault.sol', 'SettlementVault', 'contracts-abi/SettlementVault.json'],
  ['contracts-abi/src/RightsPass.sol', 'RightsPass', 'contracts-abi/RightsPass.json'],
  ...['PlainPayee', 'RevertingPayee', 'ReturnBombPayee', 'ReentrantPayee', 'StipendRoyaltyPayer',
    'ForceSend', 'Eip1271Wallet', 'Eip1271FixedAnswer'].map((n) => [TEST_ACTORS, n, `contracts-abi/test/${n}.json`]),
];
const SETTINGS = {
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'ipfs' },
  optimizer: { enabled: true, runs: 200 },
};

function die(msg) {
  process.stderr.write(`compile: ${msg}\n`);
  process.exit(2);
}

function requireTool(name) {
  try {
    return require(require.resolve(name, { paths: [TOOLS, ...(module.paths || [])] }));
  } catch (err) {
    die(`cannot load '${name}' (${err.message}); run the tools setup or set NODE_PATH=.tools/node_modules`);
  }
  return null;
}

// Resolve an import's source unit name. Only pinned OpenZeppelin files are allowed.
function findImport(unitName) {
  if (!unitName.startsWith('@openzeppelin/contracts/') || unitName.split('/').includes('..')) {
    return { error: `import '${unitName}' is outside @openzeppelin/contracts` };
  }
  const file = path.join(TOOLS, unitName);
  try {
    return { contents: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    return { error: `cannot read import '${unitName}': ${err.message}` };
  }
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
    return out;
  }
  return value;
}

function checkVersions(solc) {
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    die(`solc-js is ${version}, expected ${SOLC_VERSION} (pinned in services/stack/package.json)`);
  }
  const ozPkg = JSON.parse(
    fs.readFileSync(path.join(TOOLS, '@openzeppelin', 'contracts', 'package.json'), 'utf8'));
  if (ozPkg.version !== OZ_VERSION) {
    die(`@openzeppelin/contracts is ${ozPkg.version}, expected ${OZ_VERSION}`);
  }
  return version;
}

// Returns a map artifact path (repo-relative) -> file text.
function compileAll() {
  const solc = requireTool('solc');
  const version = checkVersions(solc);
  const sources = {};
  for (const [unit] of CONTRACTS) {
    sources[unit] = { content: fs.readFileSync(path.join(ROOT, unit), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const diagnostics = output.errors || [];
  for (const d of diagnostics) {
    process.stderr.write(`${d.severity}: ${d.formattedMessage || d.message}\n`);
  }
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) die(`${errors.length} compiler error(s)`);

  const files = {};
  for (const [unit, name, artifactPath] of CONTRACTS) {
    const c = output.contracts && output.contracts[unit] && output.contracts[unit][name];
    if (!c) die(`no output for contract '${name}' in '${unit}'`);
    const bytecode = c.evm.bytecode.object;
    const deployed = c.evm.deployedBytecode.object;
    if (!bytecode || !deployed) die(`empty bytecode for '${name}' (abstract or unlinked?)`);
    if (/__\$/.test(bytecode)) die(`'${name}' needs library linking, which is not supported`);
    const artifact = {
      contractName: name,
      abi: sortKeys(c.abi),
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${deployed}`,
      compiler: { version, settings: sortKeys(SETTINGS) },
    };
    files[artifactPath] = `${JSON.stringify(artifact, null, 2)}\n`;
  }
  return files;
}

// Prints a short diff-like report of the first differing lines; returns nothing.
function reportDiff(rel, committed, fresh) {
  const a = committed.split('\n');
  const b = fresh.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  process.stderr.write(`--- ${rel} (committed)\n+++ ${rel} (fresh compile)\n@@ line ${i + 1} @@\n`);
  const clip = (s) => (s.length > 160 ? `${s.slice(0, 160)}... (${s.length} chars)` : s);
  for (let k = i; k < Math.min(a.length, i + 3); k++) process.stderr.write(`-${clip(a[k])}\n`);
  for (let k = i; k < Math.min(b.length, i + 3); k++) process.stderr.write(`+${clip(b[k])}\n`);
}

function main(argv) {
  const args = argv.slice(2);
  const check = args.includes('--check');
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) die(`unknown argument '${unknown[0]}' (usage: compile.js [--check])`);

  const files = compileAll();
  let stale = 0;
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(ROOT, rel);
    if (check) {
      let committed = null;
      try {
        committed = fs.readFileSync(abs, 'utf8');
      } catch (err) {
        process.stderr.write(`compile: missing artifact '${rel}': ${err.code || err.message}\n`);
        stale++;
        continue;
      }
      if (committed !== text) {
        reportDiff(rel, committed, text);
        stale++;
      }
    } else {
      fs.writeFileSync(abs, text);
      process.stdout.write(`wrote ${rel}\n`);
    }
  }
  if (check) {
    if (stale > 0) {
      process.stderr.write(`compile: ${stale} artifact(s) differ from a fresh compile; ` +
        'run contracts-abi/compile.sh and commit the result\n');
      process.exit(1);
    }
    process.stdout.write(`compile: ${Object.keys(files).length} artifacts match a fresh compile\n`);
  }
}

main(process.argv);
