// Render the Adaptive Card embedded in a card page with the adaptivecards renderer.
//
// A page built by scripts/render_cards.py loads markdown-it, then adaptivecards.min.js, then
// this classic script (file:// pages cannot load ES modules). The script parses the card JSON
// in <script id="card-json"> against Adaptive Card 1.5, collects every parse and validation
// event, renders the card into #card-host and writes the outcome into #render-status:
// data-status is "ok" or "error", and each problem is one <li> in the status element.
(function () {
  "use strict";

  var status = document.getElementById("render-status");
  var host = document.getElementById("card-host");

  function describe(stage, event) {
    var name = AdaptiveCards.ValidationEvent[event.event] || String(event.event);
    return stage + ": " + name + ": " + event.message;
  }

  function report(problems) {
    var list = document.createElement("ul");
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem;
      list.appendChild(item);
    });
    status.appendChild(list);
    status.setAttribute("data-status", problems.length ? "error" : "ok");
    // The page margin below the card is 20 pixels, as above it.
    var bottom = Math.ceil(host.getBoundingClientRect().bottom) + 20;
    status.setAttribute("data-height", String(bottom));
  }

  var problems = [];
  try {
    var payload = JSON.parse(document.getElementById("card-json").textContent);
    var context = new AdaptiveCards.SerializationContext(new AdaptiveCards.Version(1, 5));
    var card = new AdaptiveCards.AdaptiveCard();
    card.parse(payload, context);
    for (var index = 0; index < context.eventCount; index++) {
      problems.push(describe("parse", context.getEventAt(index)));
    }
    card.validateProperties().validationEvents.forEach(function (event) {
      problems.push(describe("validation", event));
    });
    var rendered = card.render();
    if (rendered) {
      host.appendChild(rendered);
    } else {
      problems.push("render: card.render() returned no element");
    }
  } catch (error) {
    problems.push("exception: " + (error && error.stack ? error.stack : String(error)));
  }
  report(problems);
})();
