// The sample shop's browser script: shows the release the page was served by.
fetch('/health')
  .then((res) => res.json())
  .then((health) => {
    document.title = `shop ${health.release}`;
  });
