/** @module Tests of the sandboxed `<xpathFilter>` evaluator. */

import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  compileXPathFilter,
  filterDocuments,
  XPathDocumentError,
  XPathFilterError,
} from '../../src/xpath/filter.ts';

const ROOT_OPEN =
  '<info:conference-info xmlns:info="urn:ietf:params:xml:ns:conference-info" ' +
  'xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" entity="xcon:ENTITY@example.com">';

interface Sample {
  entity: string;
  media: string[];
  active: boolean;
  users: string[];
  floor?: boolean;
  title?: string;
  extra?: string;
}

/** A small conference document in the gateway's canonical form. */
function conference(sample: Sample): string {
  const media = sample.media
    .map((type, i) => `<info:entry label="${i + 1}"><info:type>${type}</info:type></info:entry>`)
    .join('');
  const users = sample.users
    .map(
      (u) =>
        `<info:user entity="xcon-userid:${u}@example.com">` +
        `<info:display-text>${u}</info:display-text></info:user>`,
    )
    .join('');
  return (
    ROOT_OPEN.replace('ENTITY', sample.entity) +
    '<info:conference-description xml:lang="en">' +
    `<info:display-text>${sample.title ?? sample.entity}</info:display-text>` +
    `<info:available-media>${media}</info:available-media>` +
    '</info:conference-description>' +
    `<info:conference-state><info:active>${sample.active}</info:active></info:conference-state>` +
    (sample.floor === true
      ? '<xcon:floor-information><xcon:conference-ID>7</xcon:conference-ID></xcon:floor-information>'
      : '') +
    `<info:users>${users}</info:users>` +
    (sample.extra ?? '') +
    '</info:conference-info>'
  );
}

const AV = conference({
  entity: 'av',
  media: ['audio', 'video'],
  active: true,
  users: ['alice', 'bob'],
  floor: true,
});
const AUDIO = conference({
  entity: 'audio',
  media: ['audio'],
  active: false,
  users: ['carol'],
  title: 'info:lobby',
});
const EXTENDED = conference({
  entity: 'ext',
  media: ['video', 'text'],
  active: false,
  users: [],
  extra: '<ex:custom xmlns:ex="urn:example:extension" ex:level="gold"><ex:note>vip</ex:note></ex:custom>',
});
/** The same model written with a default namespace instead of prefixes. */
const UNPREFIXED =
  '<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="xcon:plain@example.com">' +
  '<conference-state><active>false</active></conference-state></conference-info>';

const ALL = [AV, AUDIO, EXTENDED, UNPREFIXED];

function selected(expression: string, documents: string[] = ALL): string[] {
  const filter = compileXPathFilter(expression);
  return filterDocuments(filter, documents, (xml) => xml).map(
    (xml) => /entity="xcon:([a-z]+)@/.exec(xml)?.[1] ?? '?',
  );
}

function failure(run: () => unknown): XPathFilterError {
  try {
    run();
  } catch (e) {
    if (e instanceof XPathFilterError) return e;
    throw e;
  }
  throw new Error('expected an XPathFilterError');
}

describe('xpathFilter: RFC 6503 examples', () => {
  it('selects audio and video conferences (blueprintsRequest example)', () => {
    expect(
      selected(
        "/conference-info[conference-description/available-media/entry/type='audio' and " +
          "conference-description/available-media/entry/type='video']",
      ),
    ).toEqual(['av']);
  });

  it('selects registered, inactive conferences (confsRequest example, data-model path)', () => {
    expect(selected("/conference-info[conference-state/active='false']")).toEqual(['audio', 'ext', 'plain']);
  });
});

describe('xpathFilter: names and prefixes', () => {
  it('accepts the info: and xcon: prefixes', () => {
    expect(selected("/info:conference-info[info:conference-state/info:active='false']")).toEqual([
      'audio',
      'ext',
      'plain',
    ]);
    expect(selected('/info:conference-info[xcon:floor-information/xcon:conference-ID = 7]')).toEqual(['av']);
  });

  it("accepts liblinphone's long prefixes, ccmp:, and prefix:*", () => {
    expect(selected('/conference-info:conference-info/xcon-conference-info:floor-information')).toEqual([
      'av',
    ]);
    expect(selected('/ccmp:conference-info/info:users/info:*')).toEqual(['av', 'audio']);
  });

  it('evaluates //-style expressions', () => {
    expect(selected("//available-media/entry[type='text']")).toEqual(['ext']);
    expect(selected('//xcon:floor-information')).toEqual(['av']);
    expect(selected("//user[@entity='xcon-userid:carol@example.com']")).toEqual(['audio']);
    expect(selected("descendant::info:user[starts-with(display-text, 'b')]")).toEqual(['av']);
  });

  it('keeps xml:lang in the XML namespace', () => {
    expect(selected("//conference-description[@xml:lang='en']")).toEqual(['av', 'audio', 'ext']);
    expect(selected("//conference-description[lang('en')]")).toEqual(['av', 'audio', 'ext']);
  });

  it('never rewrites inside string literals', () => {
    expect(selected("//display-text='info:lobby'")).toEqual(['audio']);
    expect(selected('//conference-description[display-text = "info:lobby"]')).toEqual(['audio']);
    expect(selected("//display-text='lobby'")).toEqual([]);
  });

  it('reads documents with unknown extension namespaces', () => {
    expect(selected("//custom[@level='gold']/note")).toEqual(['ext']);
    expect(selected("/conference-info[conference-state/active='false' and available-media]")).toEqual([]);
    expect(selected("//available-media[entry/type='video']")).toEqual(['av', 'ext']);
  });

  it('refuses unknown prefixes, naming them', () => {
    const error = failure(() => compileXPathFilter('/foo:conference-info'));
    expect(error.kind).toBe('invalid');
    expect(error.message).toMatch(/unknown namespace prefix "foo"/);
    expect(failure(() => compileXPathFilter('//ex:custom')).message).toMatch(/"ex"/);
  });
});

describe('xpathFilter: result types', () => {
  it('treats a boolean result as the match', () => {
    expect(selected('count(//users/user) > 1')).toEqual(['av']);
    expect(selected('false()')).toEqual([]);
    expect(selected("not(//conference-state/active = 'true')")).toEqual(['audio', 'ext', 'plain']);
  });

  it('treats a non-zero number and a non-empty string as a match', () => {
    expect(selected('count(//user)')).toEqual(['av', 'audio']);
    expect(selected('0 div 0')).toEqual([]);
    expect(selected('string(//floor-information)')).toEqual(['av']);
  });
});

describe('xpathFilter: refused expressions', () => {
  it('reports invalid syntax', () => {
    for (const expression of ['/conference-info[', 'a b', '//', '/a[@x="open]', 'a ! b', 'bogus::a']) {
      const error = failure(() => compileXPathFilter(expression));
      expect(error.kind, expression).toBe('invalid');
      expect(error.message, expression).toMatch(/^xpathFilter is not valid XPath 1\.0: /);
    }
    expect(failure(() => compileXPathFilter('   ')).message).toBe('xpathFilter is empty');
  });

  it('refuses variable references', () => {
    const error = failure(() => compileXPathFilter('/conference-info[@entity = $target]'));
    expect(error.kind).toBe('invalid');
    expect(error.message).toMatch(/variable \$target/);
  });

  it('refuses functions outside the XPath 1.0 core, and id()', () => {
    expect(failure(() => compileXPathFilter("document('http://example.com/x')")).message).toBe(
      'xpathFilter uses function document(), which is not allowed',
    );
    expect(failure(() => compileXPathFilter('exsl:node-set(//user)')).message).toMatch(/exsl:node-set\(\)/);
    expect(failure(() => compileXPathFilter("id('x')")).message).toMatch(/function id\(\)/);
    expect(failure(() => compileXPathFilter('count()')).message).toMatch(/count\(\) takes 1 argument/);
  });

  it('caps the expression length', () => {
    const long = `/conference-info[${"entity='x' or ".repeat(80)}false()]`;
    expect(long.length).toBeGreaterThan(1024);
    expect(failure(() => compileXPathFilter(long)).message).toBe(
      'xpathFilter is longer than 1024 characters',
    );
    expect(() => compileXPathFilter(long, { maxExpressionLength: 2048 })).not.toThrow();
    expect(failure(() => compileXPathFilter('//user', { maxExpressionLength: 5 })).kind).toBe('invalid');
  });

  it('reports type errors found during evaluation as invalid', () => {
    const filter = compileXPathFilter("count('x') > 0");
    expect(failure(() => filter.matches(AV)).kind).toBe('invalid');
  });
});

describe('xpathFilter: budgets', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('caps the number of documents per request', () => {
    const filter = compileXPathFilter('/conference-info');
    const error = failure(() => filterDocuments(filter, ALL, (xml) => xml, { maxDocuments: 3 }));
    expect(error.kind).toBe('budget');
    expect(error.message).toMatch(/^xpathFilter evaluation exceeded its budget/);
    expect(filterDocuments(filter, ALL, (xml) => xml, { maxDocuments: 4 })).toHaveLength(4);
  });

  it('stops an expensive expression by its step count', () => {
    const users = Array.from({ length: 400 }, (_, i) => `u${i}`);
    const big = conference({ entity: 'big', media: ['audio'], active: true, users });
    const filter = compileXPathFilter('//*[count(//*) < 0]');
    const started = Date.now();
    const error = failure(() => filterDocuments(filter, [big], (xml) => xml));
    expect(error.kind).toBe('budget');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failure(() => filter.matches(big)).kind).toBe('budget');
  });

  it('charges every pair when two node-sets are compared', () => {
    const users = Array.from({ length: 300 }, (_, i) => `u${i}`);
    const big = conference({ entity: 'big', media: ['audio'], active: true, users });
    const filter = compileXPathFilter('//user/@entity = //display-text');
    expect(
      failure(() => filterDocuments(filter, [big], (xml) => xml, { maxNodesVisited: 50_000 })).kind,
    ).toBe('budget');
    expect(filterDocuments(filter, [big], (xml) => xml)).toEqual([]);
  });

  it('shares one step budget across the documents of a request', () => {
    const filter = compileXPathFilter('//user');
    expect(filterDocuments(filter, [AV], (xml) => xml, { maxNodesVisited: 100 })).toEqual([AV]);
    expect(
      failure(() => filterDocuments(filter, [AV, AV, AV], (xml) => xml, { maxNodesVisited: 100 })).kind,
    ).toBe('budget');
  });

  it('stops when the request runs out of time', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => (now += 100));
    const filter = compileXPathFilter('/conference-info');
    const error = failure(() => filterDocuments(filter, ALL, (xml) => xml, { maxMillis: 250 }));
    expect(error.kind).toBe('budget');
    expect(error.message).toMatch(/250 ms/);
  });
});

describe('xpathFilter: documents and reuse', () => {
  it('keeps the order of the items and reads XML through the accessor', () => {
    const items = ALL.map((xml, i) => ({ id: i, xml }));
    const filter = compileXPathFilter("//active='false'");
    expect(filterDocuments(filter, items, (item) => item.xml).map((item) => item.id)).toEqual([1, 2, 3]);
  });

  it('gives the same answers when compiled again from the cache', () => {
    const expression = "//entry[type='video']";
    const first = selected(expression);
    expect(selected(expression)).toEqual(first);
    expect(compileXPathFilter(expression).matches(AUDIO)).toBe(false);
  });

  it('refuses stored documents with a DOCTYPE or that are not well-formed', () => {
    const filter = compileXPathFilter('/conference-info');
    expect(() => filter.matches('<!DOCTYPE x [<!ENTITY e "e">]><conference-info/>')).toThrow(
      XPathDocumentError,
    );
    expect(() => filter.matches('<conference-info><a></conference-info>')).toThrow(XPathDocumentError);
    expect(() => filter.matches('<x:conference-info/>')).toThrow(XPathDocumentError);
  });
});
