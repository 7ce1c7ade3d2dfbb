#!/usr/bin/python3
"""Write the two effc.qc examples with optimized parameters (numpy only; an independent
state-vector simulator written here from the gate definitions):

  vqe_tfim.onnxtxt     VQE for the 4-qubit transverse-field Ising chain
                       H = -J sum Z_i Z_{i+1} - h sum X_i (J = h = 1, open chain), ansatz:
                       2 StronglyEntanglingLayers (PennyLane's convention)
  qaoa_maxcut.onnxtxt  QAOA (p = 2) for MaxCut on a 5-node graph (a ring plus a chord);
                       output: the expected cut size

Prints the optimized energies and the exact optima. Usage: /usr/bin/python3 gen_quantum.py"""
import os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], complex)
Z = np.diag([1.0, -1.0]).astype(complex)


def rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def ry(t):
    c, s = np.cos(t / 2), np.sin(t / 2)
    return np.array([[c, -s], [s, c]], complex)


def rx(t):
    c, s = np.cos(t / 2), np.sin(t / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def apply1(psi, n, q, m):
    psi = psi.reshape([2] * n)  # axis k is qubit n-1-k (qubit 0 is the lowest bit)
    ax = n - 1 - q
    psi = np.moveaxis(np.tensordot(m, psi, axes=([1], [ax])), 0, ax)
    return psi.reshape(-1)


def cx(psi, n, c, t):
    idx = np.arange(2 ** n)
    src = np.where((idx >> c) & 1, idx ^ (1 << t), idx)
    return psi[src]


def rzz(psi, n, a, b, t):
    idx = np.arange(2 ** n)
    par = ((idx >> a) ^ (idx >> b)) & 1
    return psi * np.exp(np.where(par, 0.5j, -0.5j) * t)


def pauli_expval(psi, n, terms):
    e = 0.0
    for coeff, s in terms:
        phi = psi.copy()
        for q, ch in enumerate(s):
            if ch == 'X':
                phi = apply1(phi, n, q, X)
            elif ch == 'Z':
                phi = apply1(phi, n, q, Z)
        e += coeff * np.vdot(psi, phi).real
    return e


def hamiltonian(n, terms):
    H = np.zeros((2 ** n, 2 ** n), complex)
    for coeff, s in terms:
        m = np.array([[1.0]])
        for q in reversed(range(n)):  # kron order: qubit n-1 first
            m = np.kron(m, {'I': I2, 'X': X, 'Z': Z}[s[q]])
        H += coeff * m
    return H


def nelder_mead(f, x0, step=0.3, iters=4000, tol=1e-10):
    n = len(x0)
    pts = [np.array(x0, float)] + [np.array(x0, float) + step * np.eye(n)[i] for i in range(n)]
    vals = [f(p) for p in pts]
    for _ in range(iters):
        order = np.argsort(vals)
        pts, vals = [pts[i] for i in order], [vals[i] for i in order]
        if vals[-1] - vals[0] < tol:
            break
        c = np.mean(pts[:-1], axis=0)
        xr = c + (c - pts[-1])
        fr = f(xr)
        if fr < vals[0]:
            xe = c + 2 * (c - pts[-1])
            fe = f(xe)
            pts[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = xr, fr
        else:
            xc = c + 0.5 * (pts[-1] - c)
            fc = f(xc)
            if fc < vals[-1]:
                pts[-1], vals[-1] = xc, fc
            else:
                pts = [pts[0] + 0.5 * (p - pts[0]) for p in pts]
                vals = [f(p) for p in pts]
    i = int(np.argmin(vals))
    return pts[i], vals[i]


def fmt(xs):
    return ', '.join(repr(float(np.float32(x))) for x in np.ravel(xs))


# ---------------------------------------------------------------- VQE, TFIM
N, L = 4, 2
TFIM = [(-1.0, 'ZZII'), (-1.0, 'IZZI'), (-1.0, 'IIZZ'),
        (-1.0, 'XIII'), (-1.0, 'IXII'), (-1.0, 'IIXI'), (-1.0, 'IIIX')]


def sel_state(w):
    w = w.reshape(L, N, 3)
    psi = np.zeros(2 ** N, complex)
    psi[0] = 1
    for l in range(L):
        for i in range(N):  # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)
            psi = apply1(psi, N, i, rz(w[l, i, 2]) @ ry(w[l, i, 1]) @ rz(w[l, i, 0]))
        r = l % (N - 1) + 1
        for i in range(N):
            psi = cx(psi, N, i, (i + r) % N)
    return psi


def vqe():
    rng = np.random.default_rng(3)
    f = lambda w: pauli_expval(sel_state(np.asarray(w, np.float32).astype(float)), N, TFIM)
    best = None
    for _ in range(6):
        x, v = nelder_mead(f, rng.uniform(-0.5, 0.5, L * N * 3))
        x, v = nelder_mead(f, x, step=0.05)
        if best is None or v < best[1]:
            best = (x, v)
    w = np.asarray(best[0], np.float32)
    exact = np.linalg.eigvalsh(hamiltonian(N, TFIM))[0]
    e = f(w)
    paulis = ', '.join('"%s"' % s for _, s in TFIM)
    coeffs = ', '.join('%g' % c for c, _ in TFIM)
    text = f'''# VQE for the transverse-field Ising chain H = -sum Z_i Z_(i+1) - sum X_i on 4 qubits (open
# chain, J = h = 1), ansatz: two StronglyEntanglingLayers. Weights optimized by gen_quantum.py
# (numpy): ansatz energy {e:.6f}, exact ground state {exact:.6f}.
# Noisy run with and without mitigation (the fixed noise model of docs/quantum.md):
#   effc zne vqe_tfim.onnxtxt --noise depol1=0.001,depol2=0.01,readout=0.02
<ir_version: 10, opset_import: ["effc.qc" : 1, "" : 21]>
vqe_tfim (float[{L},{N},3] weights) => (float energy)
   <float[{L},{N},3] weights = {{{fmt(w)}}}>
{{
   q0, q1, q2, q3 = effc.qc.Alloc ()
   r0, r1, r2, r3 = effc.qc.StronglyEntanglingLayers (q0, q1, q2, q3, weights)
   energy = effc.qc.Expval <paulis: strings = [{paulis}], coeffs: floats = [{coeffs}]> (r0, r1, r2, r3)
}}
'''
    open(os.path.join(HERE, 'vqe_tfim.onnxtxt'), 'w').write(text)
    print(f'vqe_tfim: energy {e:.6f} exact {exact:.6f}')


# ---------------------------------------------------------------- QAOA, MaxCut
QN = 5
EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)]


def qaoa_state(p):
    g1, b1, g2, b2 = p
    psi = np.full(2 ** QN, 2 ** (-QN / 2), complex)
    for g, b in ((g1, b1), (g2, b2)):
        for a, c in EDGES:
            psi = rzz(psi, QN, a, c, 2 * g)
        for q in range(QN):
            psi = apply1(psi, QN, q, rx(2 * b))
    return psi


def cut_terms():
    terms = [(0.5 * len(EDGES), 'I' * QN)]
    for a, c in EDGES:
        s = ['I'] * QN
        s[a] = s[c] = 'Z'
        terms.append((-0.5, ''.join(s)))
    return terms


def qaoa():
    terms = cut_terms()
    f = lambda p: -pauli_expval(qaoa_state(np.asarray(p, np.float32).astype(float)), QN, terms)
    best = None
    for g1 in np.linspace(0.1, 1.5, 6):
        for b1 in np.linspace(0.1, 1.5, 6):
            x, v = nelder_mead(f, [g1, b1, g1, b1], step=0.1, iters=800)
            if best is None or v < best[1]:
                best = (x, v)
    p = np.asarray(best[0], np.float32)
    cut = -f(p)
    maxcut = max(sum(((z >> a) ^ (z >> c)) & 1 for a, c in EDGES) for z in range(2 ** QN))
    paulis = ', '.join('"%s"' % s for _, s in terms)
    coeffs = ', '.join('%g' % c for c, _ in terms)
    edges = ', '.join('%d, %d' % e for e in EDGES)
    text = f'''# QAOA (p = 2) for MaxCut on 5 nodes: the ring 0-1-2-3-4-0 plus the chord 0-2. Output: the
# expected cut size sum (1 - Z_i Z_j) / 2. Angles optimized by gen_quantum.py (numpy):
# expected cut {cut:.6f}, maximum cut {maxcut}.
# Noisy run with and without mitigation (the fixed noise model of docs/quantum.md):
#   effc zne qaoa_maxcut.onnxtxt --noise depol1=0.001,depol2=0.01,readout=0.02
<ir_version: 10, opset_import: ["effc.qc" : 1, "" : 21]>
qaoa_maxcut (float gamma1, float beta1, float gamma2, float beta2) => (float cut)
   <float gamma1 = {{{fmt(p[0])}}}, float beta1 = {{{fmt(p[1])}}}, float gamma2 = {{{fmt(p[2])}}}, float beta2 = {{{fmt(p[3])}}}>
{{
   q0, q1, q2, q3, q4 = effc.qc.Alloc ()
   h0 = effc.qc.H (q0)
   h1 = effc.qc.H (q1)
   h2 = effc.qc.H (q2)
   h3 = effc.qc.H (q3)
   h4 = effc.qc.H (q4)
   c0, c1, c2, c3, c4 = effc.qc.QAOACost <edges: ints = [{edges}]> (h0, h1, h2, h3, h4, gamma1)
   m0, m1, m2, m3, m4 = effc.qc.QAOAMixer (c0, c1, c2, c3, c4, beta1)
   d0, d1, d2, d3, d4 = effc.qc.QAOACost <edges: ints = [{edges}]> (m0, m1, m2, m3, m4, gamma2)
   n0, n1, n2, n3, n4 = effc.qc.QAOAMixer (d0, d1, d2, d3, d4, beta2)
   cut = effc.qc.Expval <paulis: strings = [{paulis}], coeffs: floats = [{coeffs}]> (n0, n1, n2, n3, n4)
}}
'''
    open(os.path.join(HERE, 'qaoa_maxcut.onnxtxt'), 'w').write(text)
    print(f'qaoa_maxcut: expected cut {cut:.6f} max cut {maxcut}')


if __name__ == '__main__':
    vqe()
    qaoa()
