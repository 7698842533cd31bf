// The commitments page's pure parts (static/src/commitments/page.js) on vectors from the server:
// prints what the browser would say, for tests/test_commitments_js.py to compare with the server's
// own words. Node with full ICU, as Chromium has.
import { dayText, historyEntries, rateWords, whenText } from "../../static/src/commitments/page.js";

const input = JSON.parse(process.argv[2]);
const out = {
  rates: input.rates.map((t) => rateWords(t)),
  days: input.days.map((d) => dayText(d)),
  whens: input.whens.map(([at, tz]) => whenText(at, tz)),
  history: historyEntries(input.item, input.marks, input.log).map((e) => [e.kind, e.day, e.at, e.by, e.previous]),
};
process.stdout.write(JSON.stringify(out));
