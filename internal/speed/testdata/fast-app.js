!function(e){var t={};function n(r){}}([]),function(){var c={apiEndpoint:"api.fast.com/netflix/speedtest/v2",token:"YXNkZmFzZGxmbnNkYWZoYXNkZmhrYWxm",urlCount:5,https:!0};window.config=c}();
