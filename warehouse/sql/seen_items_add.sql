-- Items a source has fetched (or given up): later runs skip them.
insert into seen_items (source, item_url, first_seen_at) values (?, ?, ?) on conflict do nothing;
