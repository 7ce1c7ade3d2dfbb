// check.js - simulate DIR/c<k>.qasm with npm's quantum-circuit and compare its basis-state
// probabilities with effc's (DIR/c<k>.json). quantum-circuit skips unknown gates silently,
// so every gate name is checked against the ones it imports first.
// Usage: node check.js NODE_MODULES_DIR DIR COUNT
const path = require('path');
const fs = require('fs');
const QuantumCircuit = require(path.join(process.argv[2], 'quantum-circuit'));
const dir = process.argv[3], count = +process.argv[4];
const known = new Set(['id', 'x', 'y', 'z', 'h', 'sx', 'sxdg', 'rx', 'ry', 'rz', 'u1', 'u2', 'u3', 's', 't',
  'sdg', 'tdg', 'cx', 'cy', 'cz', 'ch', 'swap', 'crx', 'cry', 'crz', 'cu1', 'cu3', 'ccx', 'cswap', 'reset',
  'measure', 'barrier']);
let bad = 0, maxdiff = 0;
for (let k = 0; k < count; k++) {
  const qasm = fs.readFileSync(path.join(dir, `c${k}.qasm`), 'utf8');
  const want = JSON.parse(fs.readFileSync(path.join(dir, `c${k}.json`), 'utf8'));
  for (const line of qasm.split('\n')) {
    const m = /^([a-z_][a-z0-9_]*)/.exec(line);
    if (!m || ['OPENQASM', 'include', 'qreg', 'creg'].includes(m[1])) continue;
    if (!known.has(m[1])) { console.log(`c${k}: gate '${m[1]}' is not one quantum-circuit imports`); bad++; }
  }
  const circ = new QuantumCircuit();
  let errs = null;
  circ.importQASM(qasm, e => { errs = e; });
  if (errs && errs.length) { console.log(`c${k}: import errors ${JSON.stringify(errs)}`); bad++; continue; }
  circ.run();
  const got = new Array(want.length).fill(0);
  // `magnitude` is already the probability |amplitude|^2
  for (const e of circ.stateAsArray(false)) got[e.index] = e.magnitude;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxdiff = Math.max(maxdiff, d);
    if (d > 1e-6) { console.log(`c${k}: P(${i}) quantum-circuit ${got[i]} effc ${want[i]}`); bad++; break; }
  }
}
console.log(`${count} circuits, ${bad} mismatches, max |dP| ${maxdiff.toExponential(2)}`);
process.exit(bad ? 1 : 0);
