-- The postings of the articles in fts_stale leave the index, and their terms' document frequencies drop.
update fts_main_articles.dict set df = fts_main_articles.dict.df - gone.n
from (select termid, count(distinct docid) as n from fts_main_articles.terms
      where docid in (select docid from fts_stale) group by termid) gone
where fts_main_articles.dict.termid = gone.termid;

delete from fts_main_articles.terms where docid in (select docid from fts_stale);

delete from fts_main_articles.docs where docid in (select docid from fts_stale);
