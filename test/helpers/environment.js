// Jest runs each test file in its own realm, so its Date is not the Date the sqlite3
// native driver recognises: a Date from the test realm would be stored as the string
// "[object Object]". Sharing the process's Date makes tests store instants exactly as
// production does (epoch milliseconds).
const { TestEnvironment } = require('jest-environment-node');

module.exports = class SharedDateEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.Date = Date;
  }
};
