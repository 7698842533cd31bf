// The commitments page's pure parts (static/src/commitments/page.js) on vectors from the server:
// prints what the browser would say, for tests/commitments/test_commitments_js.py to compare
// with the server's own words. Node with full ICU, as Chromium has.
import { usePageConfig } from "../../static/src/config.js";
import { dayText, historyEntries, links, rateWords, whenText } from "../../static/src/commitments/page.js";

const input = JSON.parse(process.argv[2]);
// The #page-config the server renders (couple/client.py): the page's links are built from it.
usePageConfig(input.config);
const out = {
  rates: input.rates.map((t) => rateWords(t)),
  days: input.days.map((d) => dayText(d)),
  whens: input.whens.map(([at, tz]) => whenText(at, tz)),
  history: historyEntries(input.item, input.marks, input.log).map((e) => [e.kind, e.day, e.at, e.by, e.previous]),
  links: input.links.map(([cid, day, person, weeks]) => [links.commitment(cid), links.day(cid, day),
    links.action(cid, day, "mark"), links.action(cid, day, "acknowledge"), links.trend(person, weeks)]),
};
process.stdout.write(JSON.stringify(out));
