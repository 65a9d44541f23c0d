-- Articles per day and outlet over the last 30 days, by the day each was published (the day it was
-- first loaded when the page states no date): older pages loaded today do not show here.
select day, outlet, articles, words, stories
from v_daily_volume
where day >= timezone('UTC', now())::date - interval 30 days  -- days are UTC's, as the view's
order by day desc, articles desc;
