// Each term gets a stable, distinct color (golden-angle hues) so the eye can follow a term across logs.
export interface TermColor {
  background: string;
  text: string;
}

export function termColor(term: number, dark: boolean): TermColor {
  if (term <= 0) return dark ? { background: '#3a3a3a', text: '#ddd' } : { background: '#e6e6e6', text: '#333' };
  const hue = Math.round((term * 137.508) % 360);
  return dark
    ? { background: `hsl(${hue} 45% 32%)`, text: `hsl(${hue} 80% 92%)` }
    : { background: `hsl(${hue} 75% 82%)`, text: `hsl(${hue} 60% 18%)` };
}
