// The page facts every page carries (app/api/health.py page_facts), for node tests: the fixture is the
// server's JSON, kept current by tests/js/test_node.py::test_page_facts_fixture_is_the_servers.
import { readFileSync } from 'node:fs';
import { setFacts } from '../../static/js/facts.js';

setFacts(JSON.parse(readFileSync(new URL('../fixtures/page_facts.json', import.meta.url), 'utf8')));
