-- The articles in fts_chunk (a run of fts_fresh) enter the index with postings made exactly as
-- create_fts_index makes them.
--
-- fts_postings (term, docid, fieldid): the index's tokenize macro (strip accents, lower-case, split on
-- punctuation and spaces), stopwords and porter stemmer, applied once per distinct whitespace-separated
-- piece of text rather than to every word. A piece gives the same words alone as inside its text, since
-- whitespace always ends a word, and a batch repeats its pieces ("the", "said,") thousands of times.
-- The pieces are cut at the characters of the macro's '\s' (RE2: tab, newline, form feed, carriage
-- return, space; chr 9, 10, 12, 13 and 32) with translate and string_split rather than a regex, which
-- is cheaper; runs of them leave empty pieces, which hold no word.
create or replace temp table fts_postings as
with texts as (
    select docid, (select fieldid from fts_main_articles.fields where field = 'title') as fieldid, title as text
    from fts_chunk
    union all
    select docid, (select fieldid from fts_main_articles.fields where field = 'body') as fieldid, body as text
    from fts_chunk
),
pieces as (select docid, fieldid,
                  unnest(string_split(translate(text, chr(9) || chr(10) || chr(12) || chr(13), '    '), ' ')) as piece
           from texts),
words as (select piece, unnest(fts_main_articles.tokenize(piece)) as w from (select distinct piece from pieces)),
terms as (select piece, stem(w, 'porter') as term from words
          where w is not null and len(w) > 0 and w not in (select sw from fts_main_articles.stopwords))
select t.term, p.docid, p.fieldid from pieces p join terms t using (piece);

-- Terms the index has not seen get the next term ids; then every term's document frequency grows.
insert into fts_main_articles.dict (termid, term, df)
select (select coalesce(max(termid), -1) from fts_main_articles.dict) + row_number() over (order by term), term, 0
from (select distinct term from fts_postings where term not in (select term from fts_main_articles.dict));

update fts_main_articles.dict set df = fts_main_articles.dict.df + added.n
from (select term, count(distinct docid) as n from fts_postings group by term) added
where fts_main_articles.dict.term = added.term;

insert into fts_main_articles.terms (docid, fieldid, termid)
select p.docid, p.fieldid, d.termid from fts_postings p join fts_main_articles.dict d on d.term = p.term;

-- A document's length is its number of postings (an article without words has length 0).
insert into fts_main_articles.docs (docid, name, len, content_hash)
select n.docid, n.name, coalesce(c.len, 0), n.content_hash
from fts_chunk n left join (select docid, count(*) as len from fts_postings group by docid) c using (docid);
