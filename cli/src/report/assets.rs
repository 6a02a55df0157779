//! The page's inline style (screen and print) and script. The script counts what the page
//! holds: the matrix's cells into the summary line, the finding elements into the findings
//! tables, so what a reader sees is what the page holds (the browser test reads both).

pub const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:center}
caption{text-align:left;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th.perm,td.perm{text-align:left;font-family:monospace}tr.resource th{background:#eee;text-align:left}
td.yes{background:#d8f0d8}td.no{color:#bbb}td.unused{background:#f9c79a}td.idle{background:#eee;color:#888}
td small{font-size:10px}.legend span{display:inline-block;padding:0 6px;margin-right:8px;border:1px solid #ccc}
#summary,#findings-summary{font-size:16px;font-weight:600}
#provenance th{text-align:left;background:#f4f4f4}#provenance td{text-align:left}.hash{font-family:monospace;font-size:12px;word-break:break-all}
table.list td,table.list th{text-align:left}table.list td.n{text-align:right}
.chips span{display:inline-block;font-family:monospace;font-size:12px;border:1px solid #e0a060;background:#fdebd8;padding:0 4px;margin:1px}
.finding.accepted,.chips span.accepted{color:#777;background:#eee;border-color:#ccc}.acc{font-style:italic}
.use{display:inline-block;margin-right:10px;font-family:monospace;font-size:12px}tr.dormant td{background:#fff4d6}
.side{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}#sign-off td{width:16em;height:2.2em}
@media print{
@page{size:A4;margin:12mm}
body{margin:0;font-size:9pt}
h1{font-size:15pt}h2{font-size:12pt;break-after:avoid}h3{font-size:10pt;break-after:avoid}
table{font-size:8pt;max-width:100%}thead{display:table-header-group}tr,li{break-inside:avoid}
th,td{padding:1px 4px}#matrix{font-size:7pt}#matrix td small{font-size:6pt}
td,span,tr{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.hash{font-size:7pt}.chips span{font-size:7pt}.use{font-size:7pt}
#people-h,#matrix-h{break-before:page}
}";

pub const SCRIPT: &str = "const q=s=>[...document.querySelectorAll(s)],n=s=>q(s).length,fmt=x=>x.toLocaleString('en-US');
document.getElementById('summary').textContent=
n('#matrix th.role')+' roles · '+n('#matrix td.perm')+' permissions · '+n('td.yes,td.used,td.unused,td.idle')+' grants · '+
n('td.used')+' used · '+n('td.unused')+' unused'+(n('td.idle')?' · '+n('td.idle')+' granted to roles with no traffic':'');
const F=q('.finding'),acc=e=>e.classList.contains('accepted'),open=F.filter(e=>!acc(e));
document.getElementById('findings-summary').textContent=fmt(open.length)+' open findings · '+fmt(F.length-open.length)+' accepted';
for(const tr of q('#finding-counts tbody tr')){const mine=F.filter(e=>e.dataset.rule===tr.dataset.rule);
tr.querySelector('.open').textContent=fmt(mine.filter(e=>!acc(e)).length);tr.querySelector('.accepted').textContent=fmt(mine.filter(acc).length);}
const group=(rule,key)=>{const m=new Map();for(const e of F.filter(e=>e.dataset.rule===rule)){const k=key(e);m.set(k,[...(m.get(k)||[]),e]);}return m;};
const fill=(id,rows)=>{const t=document.getElementById(id);if(!t)return;for(const r of rows){const tr=t.tBodies[0].insertRow();
for(const c of r){const td=tr.insertCell();if(typeof c==='number'){td.className='n';td.textContent=fmt(c);}else td.textContent=c;}}};
fill('unused-by-role',[...group('unused-grant',e=>e.dataset.role)].map(([r,es])=>[r,es.length,es.filter(acc).length]));
fill('denials-by-code',[...group('denied',e=>e.dataset.denial)].map(([c,es])=>[c,es.reduce((s,e)=>s+Number(e.dataset.n),0),es.length]));";
