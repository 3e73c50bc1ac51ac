// The n-body simulation of the Computer Language Benchmarks Game, written plainly for rtprof's compare page:
// the Jovian planets' orbits, N steps of 0.01 days; prints the system's energy before and after.
'use strict';

const PI = Math.PI;
const SOLAR_MASS = 4 * PI * PI;
const DAYS_PER_YEAR = 365.24;

const BODIES = [
  // sun
  [0, 0, 0, 0, 0, 0, SOLAR_MASS],
  // jupiter
  [4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
    1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
    -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS],
  // saturn
  [8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
    -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
    2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS],
  // uranus
  [1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
    2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
    -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS],
  // neptune
  [1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
    2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
    -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS],
];
const PAIRS = [];
for (let i = 0; i < BODIES.length; i++)
  for (let j = i + 1; j < BODIES.length; j++) PAIRS.push([BODIES[i], BODIES[j]]);

function advance(dt, n) {
  for (let step = 0; step < n; step++) {
    for (const [a, b] of PAIRS) {
      const dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
      const d2 = dx * dx + dy * dy + dz * dz;
      const mag = dt / (d2 * Math.sqrt(d2));
      const bm = b[6] * mag, am = a[6] * mag;
      a[3] -= dx * bm; a[4] -= dy * bm; a[5] -= dz * bm;
      b[3] += dx * am; b[4] += dy * am; b[5] += dz * am;
    }
    for (const body of BODIES) {
      body[0] += dt * body[3]; body[1] += dt * body[4]; body[2] += dt * body[5];
    }
  }
}

function energy() {
  let e = 0;
  for (const b of BODIES) e += 0.5 * b[6] * (b[3] * b[3] + b[4] * b[4] + b[5] * b[5]);
  for (const [a, b] of PAIRS) {
    const dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    e -= a[6] * b[6] / Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
  return e;
}

function offsetMomentum() {
  let px = 0, py = 0, pz = 0;
  for (const b of BODIES) { px += b[3] * b[6]; py += b[4] * b[6]; pz += b[5] * b[6]; }
  BODIES[0][3] = -px / SOLAR_MASS; BODIES[0][4] = -py / SOLAR_MASS; BODIES[0][5] = -pz / SOLAR_MASS;
}

offsetMomentum();
console.log(energy().toFixed(9));
advance(0.01, Number(process.argv[2]));
console.log(energy().toFixed(9));
