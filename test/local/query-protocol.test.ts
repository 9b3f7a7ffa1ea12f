import { describe, expect, it } from 'vitest';
import {
  escapeXml,
  parseQueryParams,
  queryErrorResponse,
  queryResponse,
  toQueryXml,
} from '../../local/query-protocol.js';

// https://smithy.io/2.0/aws/protocols/aws-query-protocol.html: lists are `<name>.member.<n>` in
// requests and `<member>` elements in answers; structures are dotted names and nested elements.
describe('the query protocol', () => {
  it('unflattens a form: member lists in index order, nested structures, Action and Version left out', () => {
    const form = new URLSearchParams(
      'Action=PutMetricAlarm&Version=2010-08-01&AlarmName=eu-5xx&Period=60' +
        '&Dimensions.member.2.Name=TargetGroup&Dimensions.member.2.Value=tg' +
        '&Dimensions.member.1.Name=LoadBalancer&Dimensions.member.1.Value=lb' +
        '&AlarmNames.member.10=j&AlarmNames.member.2=b&AlarmNames.member.1=a&Tags.Key=k',
    );

    expect(parseQueryParams(form)).toEqual({
      AlarmName: 'eu-5xx',
      Period: '60',
      Dimensions: [
        { Name: 'LoadBalancer', Value: 'lb' },
        { Name: 'TargetGroup', Value: 'tg' },
      ],
      AlarmNames: ['a', 'b', 'j'],
      Tags: { Key: 'k' },
    });
  });

  it('writes an answer: members as elements, lists as <member>, timestamps ISO 8601, undefined left out', () => {
    const xml = toQueryXml({
      MetricAlarms: [{ AlarmName: 'a<b', Threshold: 1.5, ActionsEnabled: true, Missing: undefined }],
      CompositeAlarms: [],
      At: new Date('2026-11-26T07:00:00.000Z'),
    });

    expect(xml).toBe(
      '<MetricAlarms><member><AlarmName>a&lt;b</AlarmName><Threshold>1.5</Threshold>' +
        '<ActionsEnabled>true</ActionsEnabled></member></MetricAlarms><CompositeAlarms></CompositeAlarms>' +
        '<At>2026-11-26T07:00:00.000Z</At>',
    );
    expect(queryResponse('SetAlarmState', 'urn:ns').body).toMatch(
      /^<SetAlarmStateResponse xmlns="urn:ns"><ResponseMetadata><RequestId>[-0-9a-f]+<\/RequestId><\/ResponseMetadata><\/SetAlarmStateResponse>$/,
    );
    expect(queryResponse('DescribeAlarms', 'urn:ns', xml).body).toContain(
      `<DescribeAlarmsResult>${xml}</DescribeAlarmsResult>`,
    );
  });

  it('writes an error as ErrorResponse: Sender for the caller’s mistakes, Receiver for the service’s', () => {
    expect(
      queryErrorResponse('urn:ns', { code: 'ResourceNotFound', message: 'no "x"', status: 404 }),
    ).toEqual({
      status: 404,
      body: expect.stringMatching(
        /^<ErrorResponse xmlns="urn:ns"><Error><Type>Sender<\/Type><Code>ResourceNotFound<\/Code><Message>no &quot;x&quot;<\/Message><\/Error>/,
      ),
    });
    expect(
      queryErrorResponse('urn:ns', { code: 'InternalFailure', message: 'x', status: 500 }).body,
    ).toContain('<Type>Receiver</Type>');
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
  });
});
