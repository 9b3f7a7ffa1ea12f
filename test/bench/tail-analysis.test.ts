import { describe, expect, it } from 'vitest';
import { analyzeTail, callRates, type ReceivedLine, withIngestionTimes } from '../../bench/tail-analysis.js';

const log = (taskArn: string, seq: number, writtenMs: number, receivedMs: number): ReceivedLine => ({
  receivedMs,
  text: JSON.stringify({
    type: 'log',
    time: new Date(writtenMs).toISOString(),
    environment: 'e',
    step: 'migrate',
    taskArn,
    message: `${seq} ${writtenMs}`,
  }),
});

describe('analyzeTail', () => {
  it('counts lines printed, lost and duplicated per stream, and their latency', () => {
    const lines: ReceivedLine[] = [
      { receivedMs: 0, text: JSON.stringify({ type: 'phase', time: 'x', state: 'Plan', stateType: 'Task' }) },
      log('a', 0, 1000, 1100),
      log('a', 1, 1000, 1200),
      log('a', 1, 1000, 1300),
      log('b', 0, 2000, 2400),
      // Stream b line 1 never arrives; a line of the app that is not numbered does not count.
      { receivedMs: 2500, text: JSON.stringify({ type: 'log', taskArn: 'b', message: 'Migrating...' }) },
      { receivedMs: 2600, text: 'not json' },
      { receivedMs: 2600, text: '' },
    ];

    const figures = analyzeTail(lines, 2, 2);

    expect(figures).toMatchObject({ expected: 4, printed: 3, lost: 1, duplicated: 1, notJson: 1 });
    expect(figures.latencyP50Ms).toBe(200);
    expect(figures.latencyP95Ms).toBe(400);
    expect(figures.latencyMaxMs).toBe(400);
  });

  it('measures latency from ingestion where the ingestion time is known', () => {
    const lines = [
      { ...log('a', 0, 1000, 1700), ingestedMs: 1500 },
      { ...log('a', 1, 1000, 1900), ingestedMs: 1500 },
      log('a', 2, 1000, 2000),
    ];

    const figures = analyzeTail(lines, 1, 3);

    expect(figures.latencyP50Ms).toBe(900);
    expect(figures.ingestionLatencyP50Ms).toBe(200);
    expect(figures.ingestionLatencyMaxMs).toBe(400);
  });

  it('has no latency from ingestion when no ingestion time is known', () => {
    expect(Number.isNaN(analyzeTail([log('a', 0, 0, 1)], 1, 1).ingestionLatencyP50Ms)).toBe(true);
  });

  it('counts a stream that printed nothing as lost entirely', () => {
    expect(analyzeTail([log('a', 0, 0, 1)], 3, 1)).toMatchObject({ expected: 3, printed: 1, lost: 2 });
  });
});

describe('withIngestionTimes', () => {
  it('gives each numbered log line the ingestion time of its event, by task id and sequence number', () => {
    const lines = [
      log('arn:aws:ecs:us-east-1:1:task/c/t1', 0, 1000, 1100),
      log('arn:aws:ecs:us-east-1:1:task/c/t2', 0, 1000, 1100),
      { receivedMs: 0, text: 'not json' },
    ];

    const annotated = withIngestionTimes(lines, new Map([['t1 0', 1050]]));

    expect(annotated.map((line) => line.ingestedMs)).toEqual([1050, undefined, undefined]);
  });
});

describe('callRates', () => {
  it('averages over the span and finds the busiest second', () => {
    const times = [0, 100, 200, 300, 1500, 2900, 3000];
    expect(callRates(times)).toEqual({ averagePerSecond: 7 / 3, peakPerSecond: 4 });
  });

  it('is zero without calls', () => {
    expect(callRates([])).toEqual({ averagePerSecond: 0, peakPerSecond: 0 });
  });
});
