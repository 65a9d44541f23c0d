-- 020: a sitemap index or an OPML list is read whole at every run, since the sitemaps and feeds it names
-- change while it does not. The validators saved for one before made it answer 304 (or hash the same), and
-- its children went unread, so the validators saved so far are dropped once. Which URLs were such lists is
-- not recorded: every URL's go, and each is downloaded whole once more (what it gives that is already
-- stored counts unchanged; items already seen are not fetched again).
update fetch_state set etag = null, last_modified = null, content_sha256 = null;
