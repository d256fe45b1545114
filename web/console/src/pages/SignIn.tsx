import { useId, useState } from 'react';
import { token } from '../api';

export function SignIn({ reason, onSignedIn }: { reason: string | undefined; onSignedIn: () => void }) {
  const id = useId();
  const [value, setValue] = useState('');
  return (
    <main className="signin">
      <h1>ERP integration hub console</h1>
      {reason ? (
        <p className="error" role="alert">
          {reason}
        </p>
      ) : (
        <p className="notice" role="status">
          No token yet: paste one to sign in.
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!value.trim()) return;
          token.set(value);
          onSignedIn();
        }}
      >
        <label htmlFor={id}>Token (JWT)</label>
        <input
          id={id}
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
        />
        <button type="submit">Sign in</button>
      </form>
      <p className="hint">
        <code>npm start</code> prints a link that opens the console signed in; another token:{' '}
        <code>npm run --silent token -- --org &lt;org&gt;</code>. The token is kept in this tab's session
        storage only.
      </p>
    </main>
  );
}
