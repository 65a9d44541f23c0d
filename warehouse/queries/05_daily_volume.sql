-- What arrived per day and outlet (the last 30 days).
select day, outlet, articles, words, stories
from v_daily_volume
where day >= current_date - interval 30 days
order by day desc, articles desc;
