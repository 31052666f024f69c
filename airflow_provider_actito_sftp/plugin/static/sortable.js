// Sortable tables, as Airflow's own: each column header is a button; a click sorts the rows by that column,
// ascending, then descending. The sorted header carries aria-sort and an arrow. Rows the page redraws later
// (a reload of the list) are put back in the chosen order.

const ARROWS = { ascending: "↑", descending: "↓" };

/** The text of the cell covering column ``index`` of ``row`` (cells may span several columns). */
function cellText(row, index) {
  let column = 0;
  for (const cell of row.cells) {
    column += cell.colSpan || 1;
    if (column > index) { return cell.textContent.trim(); }
  }
  return "";
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Put the body's rows in the table's chosen order; nothing moves when they already are in it. */
function apply(table) {
  const { sortColumn, sortDirection } = table.dataset;
  const body = table.tBodies[0];
  if (sortColumn === undefined || !body || body.rows.length < 2) { return; }
  const index = Number(sortColumn);
  const sign = sortDirection === "descending" ? -1 : 1;
  const rows = [...body.rows];
  const ordered = [...rows].sort((a, b) => sign * collator.compare(cellText(a, index), cellText(b, index)));
  if (ordered.every((row, at) => row === rows[at])) { return; }
  body.append(...ordered);
}

function showOrder(table) {
  const { sortColumn, sortDirection } = table.dataset;
  for (const [index, header] of [...table.tHead.rows[0].cells].entries()) {
    const sorted = String(index) === sortColumn;
    if (sorted) { header.setAttribute("aria-sort", sortDirection); } else { header.removeAttribute("aria-sort"); }
    header.querySelector(".sort-arrow").textContent = sorted ? ARROWS[sortDirection] : "";
  }
}

function sortBy(table, index) {
  const again = table.dataset.sortColumn === String(index) && table.dataset.sortDirection === "ascending";
  table.dataset.sortColumn = String(index);
  table.dataset.sortDirection = again ? "descending" : "ascending";
  showOrder(table);
  apply(table);
}

/** Make a table's headers sort its rows (once per table); its body may be redrawn at any time. */
export function sortable(table) {
  if (!table || !table.tHead || table.dataset.sortable === "true") { return; }
  table.dataset.sortable = "true";
  for (const [index, header] of [...table.tHead.rows[0].cells].entries()) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    const arrow = Object.assign(document.createElement("span"), { className: "sort-arrow" });
    arrow.setAttribute("aria-hidden", "true");
    button.append(...header.childNodes, arrow);
    button.addEventListener("click", () => sortBy(table, index));
    header.append(button);
  }
  if (!table.tBodies[0]) { table.append(document.createElement("tbody")); }
  new MutationObserver(() => apply(table)).observe(table.tBodies[0], { childList: true });
}
