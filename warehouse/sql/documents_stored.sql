-- Which of these document ids the warehouse already stores (their bytes are archived already).
select document_id from documents where document_id in (select unnest(?))
