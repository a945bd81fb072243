import { describe, it, expect } from 'vitest';
import {
  buildTableColumnDefinitions,
  columnCell,
  humanDuration,
  NAME_COLUMN_DESCRIPTION,
} from '../../src/machinery/table.js';
import type { ColumnType, PrinterColumn } from '../../src/machinery/kind.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

describe('humanDuration', () => {
  const cases: [number, string][] = [
    [-3 * S, '<invalid>'],
    [-2 * S, '<invalid>'],
    [-1999, '0s'],
    [-500, '0s'],
    [0, '0s'],
    [999, '0s'],
    [S, '1s'],
    [119 * S + 999, '119s'],
    [2 * M, '2m'],
    [3 * M + 5 * S, '3m5s'],
    [3 * M, '3m'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H, '8h'],
    [47 * H + 59 * M, '47h'],
    [48 * H, '2d'],
    [2 * D + 5 * H, '2d5h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [2 * Y, '2y'],
    [2 * Y + 10 * D, '2y10d'],
    [7 * Y + 364 * D, '7y364d'],
    [8 * Y, '8y'],
    [8 * Y + 100 * D, '8y'],
    [30 * Y, '30y'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms -> ${want}`, () => expect(humanDuration(ms)).toBe(want));
});

const col = (type: ColumnType, jsonPath: string): PrinterColumn => ({
  name: 'X',
  type,
  description: 'x',
  priority: 0,
  jsonPath,
});

describe('columnCell', () => {
  const now = Date.parse('2026-01-02T03:04:05Z');
  const obj = {
    metadata: { name: 'a', creationTimestamp: '2026-01-02T03:00:00Z', zero: '0001-01-01T00:00:00Z' },
    spec: {
      replicas: 3,
      ratio: 0.5,
      big: 2.9,
      paused: true,
      addresses: ['10.0.0.1', '10.0.0.2'],
      obj: { z: 1, a: '<b>' },
      nil: null,
      list: [1, 'x'],
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };

  it('no result is null', () => {
    expect(columnCell(col('string', '.spec.missing'), obj, now)).toBeNull();
    expect(columnCell(col('integer', '.spec.nil'), obj, now)).toBeNull();
  });

  it('one value of the column type is the value itself', () => {
    expect(columnCell(col('string', '.status.conditions[?(@.type=="Ready")].status'), obj, now)).toBe('True');
    expect(columnCell(col('integer', '.spec.replicas'), obj, now)).toBe(3);
    expect(columnCell(col('integer', '.spec.big'), obj, now)).toBe(2);
    expect(columnCell(col('number', '.spec.ratio'), obj, now)).toBe(0.5);
    expect(columnCell(col('boolean', '.spec.paused'), obj, now)).toBe(true);
  });

  it('date columns render the age', () => {
    expect(columnCell(col('date', '.metadata.creationTimestamp'), obj, now)).toBe('4m5s');
    expect(columnCell(col('date', '.metadata.zero'), obj, now)).toBe('<unknown>');
    expect(columnCell(col('date', '.metadata.name'), obj, now)).toBe('<invalid>');
    expect(columnCell(col('date', '.metadata.creationTimestamp'), obj, Date.parse('2026-01-02T02:00:00Z'))).toBe(
      '<invalid>',
    );
    const withOffset = { t: '2026-01-02T04:00:05+01:00', frac: '2026-01-02T03:04:04.5Z', bad: '2026-02-30T00:00:00Z' };
    expect(columnCell(col('date', '.t'), withOffset, now)).toBe('4m');
    expect(columnCell(col('date', '.frac'), withOffset, now)).toBe('0s');
    expect(columnCell(col('date', '.bad'), withOffset, now)).toBe('<invalid>');
  });

  it('otherwise renders every value as text, joined by a space', () => {
    expect(columnCell(col('string', '.spec.addresses[*]'), obj, now)).toBe('10.0.0.1 10.0.0.2');
    expect(columnCell(col('string', '.spec.replicas'), obj, now)).toBe('3');
    expect(columnCell(col('string', '.spec.paused'), obj, now)).toBe('true');
    expect(columnCell(col('string', '.spec.addresses'), obj, now)).toBe('["10.0.0.1","10.0.0.2"]');
    expect(columnCell(col('string', '.spec.obj'), obj, now)).toBe('{"a":"\\u003cb\\u003e","z":1}');
    expect(columnCell(col('integer', '.metadata.name'), obj, now)).toBe('a');
    expect(columnCell(col('integer', '.spec.list[*]'), obj, now)).toBe('1 x');
  });

  it('reuses compiled paths and throws for invalid ones', () => {
    expect(() => columnCell(col('string', 'not a path'), obj, now)).toThrow(Error);
  });
});

describe('buildTableColumnDefinitions', () => {
  it('prepends the Name column and defaults format to ""', () => {
    const defs = buildTableColumnDefinitions([
      { name: 'Ready', type: 'string', description: 'is it ready', priority: 0, jsonPath: '.status.ready' },
      {
        name: 'Age',
        type: 'date',
        format: '',
        description: 'age',
        priority: 0,
        jsonPath: '.metadata.creationTimestamp',
      },
      { name: 'Address', type: 'string', description: 'addr', priority: 1, jsonPath: '.spec.address' },
    ]);
    expect(defs).toEqual([
      { name: 'Name', type: 'string', format: 'name', description: NAME_COLUMN_DESCRIPTION, priority: 0 },
      { name: 'Ready', type: 'string', format: '', description: 'is it ready', priority: 0 },
      { name: 'Age', type: 'date', format: '', description: 'age', priority: 0 },
      { name: 'Address', type: 'string', format: '', description: 'addr', priority: 1 },
    ]);
    expect(NAME_COLUMN_DESCRIPTION).toMatch(/^Name must be unique within a namespace\./);
  });
});
