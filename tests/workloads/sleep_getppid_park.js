// usage: node sleep_getppid_park.js DELAY CALLS PARK -- sleep DELAY s, make exactly CALLS getppid calls (each
// process.ppid access is one), then sleep PARK s and exit.
const [delay, calls, park] = process.argv.slice(2).map(Number);
setTimeout(() => {
  let sink = 0;
  for (let i = 0; i < calls; i++) sink += process.ppid;
  setTimeout(() => { if (sink === -1) console.log(sink); }, park * 1000);
}, delay * 1000);
