// Appended to a copy of the Snakemake report: opens every category and every result in it through the report's
// own buttons, and writes what the page then shows (image size, HTML page content) into a hidden "probe" block.
window.addEventListener("load", async () => {
  const out = document.createElement("pre");
  out.id = "probe";
  out.style.display = "none";
  try {
    const pause = (ms) => new Promise((done) => setTimeout(done, ms));
    const byText = (text) => [...document.querySelectorAll("a,button,li,span,div")]
      .filter((e) => e.textContent.trim() === text).pop();
    const open = async (category) => {  // from the results menu, which the breadcrumb "Results" returns to
      if (!byText(category) && byText("Results")) { byText("Results").click(); await pause(500); }
      const link = byText(category);
      if (link) { link.click(); await pause(500); }
      return !!link;
    };
    const seen = {};
    for (let waited = 0; waited < 20000 && !byText(CATEGORIES[0]); waited += 250) {
      await pause(250);  // the report renders after the page has loaded
    }
    for (const category of CATEGORIES) {
      if (!await open(category)) { seen[category] = "no such category"; continue; }
      for (const row of [...document.querySelectorAll("tr")]) {
        const cells = row.querySelectorAll("td");
        const view = cells.length ? cells[cells.length - 1].querySelector("a") : null;
        if (!view) continue;
        const name = cells[1].textContent.trim();  // the labels: number, name, title
        view.click();
        await pause(500);
        const img = document.querySelector("img[src^='data:image/png']");
        const frame = document.querySelector("iframe[src^='data:text/html']");
        if (img) {
          seen[`${category}/${name}`] = {kind: "image", width: img.naturalWidth, height: img.naturalHeight};
        } else if (frame) {
          const html = decodeURIComponent(escape(atob(frame.src.split(",")[1])));
          seen[`${category}/${name}`] = {kind: "html", html};
        } else {
          seen[`${category}/${name}`] = {kind: "nothing shown"};
        }
      }
    }
    if (OPEN && await open(OPEN[0])) {
      [...document.querySelectorAll("tr")].find((r) => r.querySelectorAll("td")[1]?.textContent.trim() === OPEN[1])
        .querySelector("td:last-child a").click();
    }
    out.textContent = JSON.stringify(seen);
  } catch (error) {
    out.textContent = JSON.stringify({error: String(error)});
  }
  document.body.appendChild(out);
});
