import { createRoot } from 'react-dom/client';
import { App } from './components/App.js';

const root = document.getElementById('root');
if (root === null) throw new Error('#root is missing from index.html');
// No <StrictMode>: in development it would open every subscription twice, and the feed's
// duplicate counter would (rightly) count the replay.
createRoot(root).render(<App />);
