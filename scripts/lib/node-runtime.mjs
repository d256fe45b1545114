// One Node from laptop to image (issue 21, docs/adr/0016-one-node-runtime.md): `npm start`, `npm test`, the
// benchmark, the chaos test and the fuzzer run on the Node major of the production images. When the
// machine's `node` is another major, the script fetches that Node from the npm registry (the `node-<os>-<cpu>`
// package, pinned with its integrity), caches it, and runs itself again on it with that Node first on the
// PATH, so everything it starts (npm, turbo, vitest, tsx, every service) runs on it too.
// HUB_NODE=system keeps the machine's node (to compare, e.g. the benchmark on the old runtime).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { dirs } from '../../deploy/local/stack.mjs';

/** The images' Node (services/*\/Dockerfile: node:26-bookworm-slim), pinned to one release. */
export const IMAGE_NODE = {
  major: 26,
  version: '26.12.1',
  /** `npm view node-<os>-<cpu>@<version> dist.integrity`, per platform this pin was checked on. */
  integrity: {
    'linux-x64':
      'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
  },
};

const log = (msg) => process.stderr.write(`[node] ${msg}\n`);

/** What to do when the images' Node cannot be had here: say what to install. */
function refuse(reason) {
  log(
    `${reason}\n[node] The services run on Node ${IMAGE_NODE.major}, the images' runtime. Install Node ${IMAGE_NODE.major} ` +
      `(https://nodejs.org/) and run the command with it, or set HUB_NODE=system to run on this node (${process.version}) anyway.`,
  );
  process.exit(1);
}

/** The cached `node` binary of IMAGE_NODE for this platform, fetched and checked on first use. */
export function imageNodeBinary() {
  const platform = `${process.platform}-${process.arch}`;
  const integrity = IMAGE_NODE.integrity[platform];
  if (!integrity)
    refuse(`No pinned Node ${IMAGE_NODE.version} build for ${platform} (scripts/lib/node-runtime.mjs).`);
  const dir = path.join(dirs.cache, `node-${IMAGE_NODE.version}-${platform}`);
  const binary = path.join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;
  const work = `${dir}.partial`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const spec = `node-${platform}@${IMAGE_NODE.version}`;
  log(`fetching ${spec} from the npm registry (about 60 MB, once; cached in ${dir})...`);
  let tarball;
  try {
    const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    tarball = path.join(work, JSON.parse(out)[0].filename);
  } catch (err) {
    refuse(`Could not fetch ${spec} from the npm registry (${err.message.split('\n')[0]}).`);
  }
  const [algorithm, expected] = integrity.split('-');
  const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64');
  if (actual !== expected) {
    rmSync(work, { recursive: true, force: true });
    refuse(`${spec}: the tarball's ${algorithm} is ${actual}, not the pinned ${expected}; not used.`);
  }
  execFileSync('tar', ['-xzf', tarball, '-C', work, '--strip-components=1', 'package/bin/node'], {
    stdio: 'inherit',
  });
  rmSync(tarball);
  renameSync(work, dir);
  return binary;
}

/**
 * Runs the calling script on the images' Node: returns at once when this process already runs on that
 * major (or HUB_NODE=system), else runs the same script with the same arguments on the cached Node and
 * exits with its code.
 */
export async function onImageNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major === IMAGE_NODE.major || process.env.HUB_NODE === 'system') return;
  const binary = imageNodeBinary();
  log(`this machine's node is ${process.version}; running on Node ${IMAGE_NODE.version} (${binary})`);
  const env = {
    ...process.env,
    PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH ?? ''}`,
  };
  const child = spawn(binary, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  // The child gets the terminal's Ctrl-C itself (same process group); a SIGTERM sent to this process only
  // is passed on.
  const forward = (signal) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', () => {});
  const code = await new Promise((resolve) => {
    child.once('error', (err) => {
      log(`could not start ${binary}: ${err.message}`);
      resolve(1);
    });
    // A child ended by a signal exits as a shell reports it: 128 + the signal's number.
    child.once('exit', (c, signal) => resolve(c ?? 128 + (constants.signals[signal] ?? 0)));
  });
  process.exit(code);
}
