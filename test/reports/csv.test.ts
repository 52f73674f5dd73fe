import { toCsv } from '../../src/reports/csv';

describe('toCsv (RFC 4180)', () => {
  it('when fields hold commas, quotes and line breaks, then they are quoted with quotes doubled and lines end in CRLF', () => {
    const csv = toCsv(['a', 'b', 'c'], [{ a: 'x,y', b: 'say "hi"', c: 'two\nlines' }, { a: 1, b: null, c: undefined }]);
    expect(csv).toBe('a,b,c\r\n"x,y","say ""hi""","two\nlines"\r\n1,,\r\n');
  });

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])('when a text cell starts like a formula (%j), then it gets a leading apostrophe', (value) => {
    const line = toCsv(['v'], [{ v: value }]).split('\r\n')[1];
    expect(line.replace(/^"|"$/g, '')).toBe(`'${value}`);
  });

  it('when a number is negative or a cell only contains = later, then it is left alone', () => {
    expect(toCsv(['n', 's'], [{ n: -1, s: 'a=b' }])).toBe('n,s\r\n-1,a=b\r\n');
  });
});
