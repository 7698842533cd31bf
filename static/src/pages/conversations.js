// The conversations page: ask, answer openly, hear each other back; live for both partners.
import "../conversations/conversations.css";
import { boot } from "../boot.js";
import { setupConversations } from "../conversations/page.js";

document.documentElement.classList.add("js");
boot({ conversations: setupConversations });
