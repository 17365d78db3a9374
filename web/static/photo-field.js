// photo-field.js: the photo control of the staff's phone forms
// (parts/photo.html), as the resident's report form has it: a big "take
// a photo" button over the file input, the photo shrunk on the phone to
// 1600 px before it is sent, and a preview. Without it the plain file
// input still works.
(function () {
  "use strict";
  var maxSide = 1600;

  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file);
    }
    return new Promise(function (ok, fail) {
      var r = new FileReader();
      r.onload = function () {
        var img = new Image();
        img.onload = function () { ok(img); };
        img.onerror = fail;
        img.src = r.result;
      };
      r.onerror = fail;
      r.readAsDataURL(file);
    });
  }

  function shrink(file) {
    return decode(file).then(function (img) {
      var scale = Math.min(1, maxSide / Math.max(img.width, img.height));
      var c = document.createElement("canvas");
      c.width = Math.round(img.width * scale);
      c.height = Math.round(img.height * scale);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return new Promise(function (ok) {
        c.toBlob(function (blob) { ok({blob: blob, url: c.toDataURL("image/jpeg", 0.8)}); }, "image/jpeg", 0.8);
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-photo]"), function (field) {
    var input = field.querySelector('input[type="file"]');
    var button = field.querySelector(".photo-button");
    var state = field.querySelector(".photo-state");
    var preview = field.querySelector(".photo-preview");
    if (!input || !button) {
      return;
    }
    field.classList.add("js");
    button.hidden = false;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      preview.hidden = true;
      state.hidden = true;
      if (!file || file.name === "photo.jpg") {
        return; // nothing, or the smaller photo put back below
      }
      shrink(file).then(function (out) {
        preview.src = out.url;
        preview.hidden = false;
        state.textContent = field.getAttribute("data-text-photo");
        state.hidden = false;
        try {
          var dt = new DataTransfer();
          dt.items.add(new File([out.blob], "photo.jpg", {type: "image/jpeg"}));
          input.files = dt.files;
        } catch (e) {}
      }).catch(function () { /* not drawable here: the server judges it */ });
    });
  });
})();
