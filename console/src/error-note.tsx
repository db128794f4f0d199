// A refusal or failure as the user sees it: the first message given, announced to screen readers; nothing when none.
export function ErrorNote({ errors }: { errors: (string | undefined)[] }) {
  const error = errors.find((e) => e);
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}
