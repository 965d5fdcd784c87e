import { useRef, useState, type FormEvent } from 'react';
import type { LocalMessage } from '../../../src';
import { useConversations, useMessages, useReadMembers, useReadState, useReadSyncClient, useReadTracker, useSyncStatus } from '../../../src/react';

/** Status, conversation count, one conversation (messages, receipt lines, compose) and a member panel. */
export function App({ userId, convId }: { userId: string; convId: string }) {
  const status = useSyncStatus();
  const conversations = useConversations();
  const [showConversation, setShowConversation] = useState(true);
  const [members, setMembers] = useState<string | null>(null);
  return (
    <main>
      <p>
        <span data-testid="status">{status.data?.connection ?? (status.loading ? 'loading' : 'none')}</span>
        <span data-testid="conversation-count">{conversations.data?.length ?? 0}</span>
        {status.error && <span data-testid="error">{status.error.code}</span>}
      </p>
      <button type="button" data-testid="toggle-conversation" onClick={() => setShowConversation((s) => !s)}>
        {showConversation ? 'hide' : 'show'} conversation
      </button>
      {showConversation && <Conversation userId={userId} convId={convId} onMembers={setMembers} />}
      {members && <Members messageId={members} onClose={() => setMembers(null)} />}
    </main>
  );
}

function Conversation({ userId, convId, onMembers }: { userId: string; convId: string; onMembers: (id: string) => void }) {
  const client = useReadSyncClient();
  const { data: messages = [], error } = useMessages(convId, { limit: 100 });
  const list = useRef<HTMLOListElement>(null);
  const track = useReadTracker({ root: list });
  const [text, setText] = useState('');
  const send = (ev: FormEvent) => {
    ev.preventDefault();
    void client.sendMessage({ convId, text, needReadReceipt: true });
    setText('');
  };
  const needsMyReceipt = (m: LocalMessage) => m.senderId !== userId && m.needReadReceipt && m.ackStatus === 'none';
  return (
    <section>
      {error && <p data-testid="error">{error.code}</p>}
      <ol ref={list} data-testid="message-list" style={{ height: 300, overflowY: 'auto' }}>
        {messages.map((m) => (
          <li key={m.id} ref={needsMyReceipt(m) ? track(m.id) : undefined} data-testid="message" data-ack-status={m.ackStatus}>
            <span data-testid="message-text">{m.text}</span>{' '}
            {m.senderId === userId && <ReceiptLine messageId={m.id} onClick={() => onMembers(m.id)} />}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <input aria-label="Message" data-testid="compose-text" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" data-testid="compose-send">Send</button>
      </form>
    </section>
  );
}

function ReceiptLine({ messageId, onClick }: { messageId: string; onClick: () => void }) {
  const { data } = useReadState(messageId);
  return (
    <button type="button" data-testid="receipt" onClick={onClick}>
      {data?.label ?? ''}
    </button>
  );
}

function Members({ messageId, onClose }: { messageId: string; onClose: () => void }) {
  const read = useReadMembers(messageId, { filter: 'read', pageSize: 1 });
  const unread = useReadMembers(messageId, { filter: 'unread', pageSize: 1 });
  return (
    <div role="dialog" aria-label="Who has read it" data-testid="members-panel">
      {[['read', read], ['unread', unread]].map(([name, r]) => {
        const result = r as typeof read;
        return (
          <section key={name as string}>
            <ul data-testid={`members-${name as string}`} data-finished={String(result.isFinished)}>
              {result.members.map((m) => (
                <li key={m.userId} data-testid="member">
                  {m.userId}
                </li>
              ))}
            </ul>
            {!result.isFinished && (
              <button type="button" data-testid={`members-more-${name as string}`} onClick={result.loadMore} disabled={result.loading}>
                more
              </button>
            )}
          </section>
        );
      })}
      <button type="button" onClick={onClose}>
        Close
      </button>
    </div>
  );
}
