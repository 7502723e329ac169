// A small SVG bar chart, loaded only with the Analytics route.
export default function BarChart({ points, label }: { points: { x: string; y: number }[]; label: string }) {
  if (!points.length) return <p className="muted">No data in this range.</p>;
  const max = Math.max(1, ...points.map((p) => p.y));
  const w = 600, h = 160, bw = w / points.length;
  return (
    <svg role="img" aria-label={`${label}: ${points.map((p) => `${p.x} ${p.y}`).join(', ')}`} viewBox={`0 0 ${w} ${h + 20}`} className="chart">
      {points.map((p, i) => {
        const bh = (p.y / max) * h;
        return <rect key={p.x} x={i * bw + 1} y={h - bh} width={Math.max(1, bw - 2)} height={bh}><title>{`${p.x}: ${p.y}`}</title></rect>;
      })}
      <text x={0} y={h + 16}>{points[0].x}</text>
      <text x={w} y={h + 16} textAnchor="end">{points[points.length - 1].x}</text>
    </svg>
  );
}
