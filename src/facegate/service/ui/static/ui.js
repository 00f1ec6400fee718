// facegate admin UI: the webcam photo for enrollment, and the events page's refresh.
"use strict";

// Webcam: show the camera, take a frame as a JPEG and add it to the form's file input.
function setUpWebcam(box) {
  const input = document.getElementById(box.dataset.for);
  const video = box.querySelector(".webcam-video");
  const take = box.querySelector(".webcam-take");
  const note = box.querySelector(".webcam-note");
  box.querySelector(".webcam-start").addEventListener("click", async () => {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      video.hidden = false;
      take.hidden = false;
    } catch (err) {
      note.textContent = "no webcam: " + err.message;
    }
  });
  take.addEventListener("click", () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      const files = new DataTransfer();
      for (const file of input.files) files.items.add(file);
      const n = files.items.length + 1;
      files.items.add(new File([blob], "webcam-" + n + ".jpg", { type: "image/jpeg" }));
      input.files = files.files;
      note.textContent = input.files.length + " photo(s) ready";
    }, "image/jpeg", 0.92);
  });
}

// Events with crops on: a cell with the event's thumbnail (a same-origin /ui/ path), or empty.
function cropCell(url) {
  const td = document.createElement("td");
  if (url && url.startsWith("/ui/events/")) {
    const img = document.createElement("img");
    img.className = "crop";
    img.src = url;
    img.alt = "face at this decision";
    img.width = 48;
    img.height = 48;
    td.appendChild(img);
  }
  return td;
}

// Events: poll the JSON of the same filters and redraw the table (text only, no HTML).
function setUpPolling(table) {
  const every = Number(table.dataset.pollMs);
  if (!every) return;
  const total = document.getElementById("events-total");
  const columns = ["time", "door", "mode", "who", "decision", "reason", "distance", "attempt"];
  async function refresh() {
    const response = await fetch("/ui/events.json" + window.location.search,
                                 { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const body = await response.json();
    const rows = body.events.map((e) => {
      const tr = document.createElement("tr");
      tr.className = e.decision;
      const values = { ...e, time: e.time.slice(0, 19).replace("T", " "),
                       who: e.person || e.claimed, distance: e.distance ?? "" };
      for (const column of columns) {
        const td = document.createElement("td");
        td.textContent = values[column];
        tr.appendChild(td);
      }
      if (table.dataset.crops) tr.appendChild(cropCell(e.crop));
      return tr;
    });
    if (rows.length) table.tBodies[0].replaceChildren(...rows);
    total.textContent = body.total + " matching";
  }
  setInterval(() => refresh().catch(() => {}), every);
}

// Uploads: refuse in the page a set of photos larger than the service accepts in one request.
function setUpSizeCheck(form) {
  const limit = Number(form.dataset.maxBytes);
  form.addEventListener("submit", (event) => {
    let total = 0;
    for (const input of form.querySelectorAll("input[type=file]")) {
      for (const file of input.files) total += file.size;
    }
    if (total > limit) {
      event.preventDefault();
      let note = form.querySelector(".size-error");
      if (!note) {
        note = document.createElement("p");
        note.className = "error size-error";
        note.setAttribute("role", "alert");
        form.prepend(note);
      }
      note.textContent = "these photos are " + Math.ceil(total / 1024) + " KB together; " +
        "the service accepts at most " + Math.floor(limit / 1024) + " KB per upload";
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-max-bytes]").forEach(setUpSizeCheck);
  document.querySelectorAll(".webcam").forEach(setUpWebcam);
  document.querySelectorAll("table[data-poll-ms]").forEach(setUpPolling);
});
