import { useEffect, useState } from 'react';
import { type ApiError, onUnauthorized, pending, takeTokenFromFragment, token, tokenClaims } from './api';
import { EntityPage } from './pages/Entity';
import { EventsPage } from './pages/Events';
import { IntegrationPage } from './pages/Integration';
import { IntegrationsPage } from './pages/Integrations';
import { MonitoringPage } from './pages/Monitoring';
import { PlaygroundPage } from './pages/Playground';
import { SignIn } from './pages/SignIn';
import { TracePage } from './pages/Trace';
import { UseCasePage } from './pages/UseCase';
import { href, type Route, useRoute } from './router';

export function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => token.get() !== null);
  const [reason, setReason] = useState<string>();
  const [session, setSession] = useState(0);
  const [offered, setOffered] = useState(() => pending.get());

  useEffect(
    () =>
      onUnauthorized((error: ApiError) => {
        token.clear();
        setReason(error.userMessage);
        setSignedIn(false);
      }),
    [],
  );
  // A `#token=` link opened in a tab where the console already runs.
  useEffect(() => {
    const take = () => {
      const taken = takeTokenFromFragment();
      if (taken === 'pending') setOffered(pending.get());
      if (taken !== 'signed-in') return;
      setReason(undefined);
      setSignedIn(true);
      setSession((n) => n + 1);
    };
    window.addEventListener('hashchange', take);
    return () => window.removeEventListener('hashchange', take);
  }, []);

  if (!signedIn) {
    return (
      <SignIn
        reason={reason}
        onSignedIn={() => {
          setReason(undefined);
          setSignedIn(true);
        }}
      />
    );
  }
  const claims = tokenClaims(token.get() ?? '');
  const offeredClaims = offered ? tokenClaims(offered) : undefined;
  return (
    <>
      {offered && (
        <div className="notice" role="alertdialog" aria-label="Switch organisation?">
          <p>
            A link asks to sign you in as <strong>organisation {offeredClaims?.org ?? '(unnamed)'}</strong>.
            You are signed in as organisation {claims?.org ?? '(unnamed)'}. Nothing changes unless you switch.
          </p>
          <button
            type="button"
            onClick={() => {
              pending.accept();
              setOffered(undefined);
              setReason(undefined);
              setSession((n) => n + 1);
            }}
          >
            Switch to organisation {offeredClaims?.org ?? '(unnamed)'}
          </button>{' '}
          <button
            type="button"
            onClick={() => {
              pending.dismiss();
              setOffered(undefined);
            }}
          >
            Stay
          </button>
        </div>
      )}
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <a className="brand" href={href()}>
          ERP integration hub
        </a>
        <nav className="main-nav" aria-label="Main">
          <a href={href()}>Integrations</a>
          <a href="/docs" target="_blank" rel="noreferrer">
            API reference
          </a>
          <a href="/asyncapi.json" target="_blank" rel="noreferrer">
            Topics (AsyncAPI)
          </a>
        </nav>
        <span className="who">
          {claims?.org ? `organisation ${claims.org}` : 'signed in'}
          {claims?.grants ? ` · ${claims.grants.join(', ')}` : ''}
        </span>
        <button
          type="button"
          onClick={() => {
            token.clear();
            setReason('You signed out.');
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page key={session} route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  const [root, id, sub, subId, leaf] = route.segments;
  if (root === 'entities' && id && sub) return <EntityPage slug={id} id={sub} />;
  if (root !== 'integrations' || !id) return <IntegrationsPage />;
  if (sub === 'use-cases' && subId && leaf === 'playground')
    return <PlaygroundPage integrationId={id} useCaseId={subId} />;
  if (sub === 'use-cases' && subId) return <UseCasePage integrationId={id} useCaseId={subId} />;
  if (sub === 'events') return <EventsPage integrationId={id} query={route.query} />;
  if (sub === 'traces' && subId) return <TracePage integrationId={id} correlationId={subId} />;
  if (sub === 'monitoring') return <MonitoringPage integrationId={id} />;
  return <IntegrationPage integrationId={id} />;
}
