/** A small coloured label: a run's status, a check's verdict. */
export function Badge(props: { tone: string; text: string }) {
  return <span className={`sv-badge sv-${props.tone}`}>{props.text}</span>;
}
